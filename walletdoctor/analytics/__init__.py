"""Trade analytics: turning a wallet's enhanced transactions into trades."""

from walletdoctor.analytics.trade import Side, Trade

__all__ = ["Side", "Trade"]
