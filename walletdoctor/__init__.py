"""WalletDoctor: a Solana wallet's trades and P&L, streamed over Server-Sent Events.

The public surface is small and re-exported here; everything else is an
implementation detail of its package.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
