"""What a client asked for: the wallet and the options that shape its stream's events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from walletdoctor.config import DEFAULT_BATCH_SIZE
from walletdoctor.helius.fetch import HistoryOrder, TimeWindow

__all__ = ["StreamParams"]


@dataclass(frozen=True, slots=True)
class StreamParams:
    """A validated stream request. Streams with equal params can share one fetch.

    Attributes:
        wallet: base58 address, already validated.
        batch_size: trades per ``trades`` event (1..1000).
        window: block-time bounds (unix seconds).
        order: ``desc`` (newest first, the default) or ``asc`` (oldest first).
    """

    wallet: str
    batch_size: int = DEFAULT_BATCH_SIZE
    window: TimeWindow = TimeWindow()
    order: HistoryOrder = HistoryOrder.DESC

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (kept with a stream in Redis so another process can resume it)."""
        return {
            "wallet": self.wallet,
            "batch_size": self.batch_size,
            "since": self.window.since,
            "until": self.window.until,
            "order": self.order.value,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StreamParams:
        """The inverse of :meth:`to_json`.

        Raises:
            KeyError, ValueError: ``data`` is not a dict :meth:`to_json` made.
        """
        return cls(
            wallet=str(data["wallet"]),
            batch_size=int(data["batch_size"]),
            window=TimeWindow(data.get("since"), data.get("until")),
            order=HistoryOrder(data["order"]),
        )
