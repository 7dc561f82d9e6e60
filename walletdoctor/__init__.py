"""WalletDoctor: a Solana wallet's trades and P&L, streamed over Server-Sent Events.

The public surface is small and re-exported here; everything else is an
implementation detail of its package.
"""

__version__ = "0.1.0"

from walletdoctor.analytics.trade import Side, Trade  # noqa: E402
from walletdoctor.app import create_app  # noqa: E402
from walletdoctor.config import Settings  # noqa: E402
from walletdoctor.errors import ErrorCode, WalletDoctorError  # noqa: E402

__all__ = ["ErrorCode", "Settings", "Side", "Trade", "WalletDoctorError", "__version__", "create_app"]
