"""The recorded real wallet: its whole history rebuilt from real data, shipped as package data.

``data/3JoVBiQE.json.gz`` is written by ``python -m
walletdoctor.helius.emulator.rebuild`` (layout in that module's docstring):
the real wallet ``3JoVBiQE…``'s 7,439 enhanced transactions, the 20 of the
recorded Helius page verbatim, the rest rebuilt from its activity export.
Nothing outside the package is read at run time.

Each transaction is kept as its compact JSON bytes and parsed on every
:meth:`RecordedWallet.transaction` call (tens of microseconds): memory stays
near the 50 MB of JSON instead of several times that in dicts, and callers
get a fresh dict they may change.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from typing import Any

import orjson

from walletdoctor.helius.emulator.history import AssetInfo, SignatureInfo

__all__ = ["FIXTURE", "RecordedWallet", "load_recorded_wallet", "parse_fixture", "signature_info_of"]

#: The fixture's resource name inside ``walletdoctor.helius.emulator``.
FIXTURE = "data/3JoVBiQE.json.gz"

_INSTRUCTION_ERROR = {"InstructionError": [3, {"Custom": 6001}]}


def signature_info_of(tx: Mapping[str, Any]) -> SignatureInfo:
    """The ``getSignaturesForAddress`` item describing enhanced transaction ``tx``.

    A failed transaction's ``err`` is given in JSON-RPC's shape (an
    ``InstructionError``), not Helius' ``transactionError`` text.
    """
    return {"signature": tx["signature"], "slot": tx["slot"], "blockTime": tx["timestamp"],
            "err": _INSTRUCTION_ERROR if tx["transactionError"] else None, "memo": None,
            "confirmationStatus": "finalized"}


class RecordedWallet:
    """A :class:`~walletdoctor.helius.emulator.history.WalletHistory` over recorded transactions.

    Args:
        address: the wallet's base58 address.
        transactions: compact JSON of each enhanced transaction, newest first.
        assets: metadata by mint (symbol, name, decimals).
        quirks: signatures per reproduced Helius quirk
            (``{"unscaled_wsol": [...]}``), for tests that look for them.

    Raises:
        ValueError: a signature appears twice.
    """

    def __init__(self, address: str, transactions: Iterable[bytes], assets: Mapping[str, AssetInfo],
                 quirks: Mapping[str, list[str]] | None = None) -> None:
        self._address = address
        self._blobs = list(transactions)
        self._infos: list[SignatureInfo] = []
        self._index: dict[str, int] = {}
        for position, blob in enumerate(self._blobs):
            info = signature_info_of(orjson.loads(blob))
            if self._index.setdefault(info["signature"], position) != position:
                raise ValueError(f"signature {info['signature']} appears twice")
            self._infos.append(info)
        self._assets = dict(assets)
        self.quirks: Mapping[str, list[str]] = dict(quirks or {})

    @property
    def address(self) -> str:
        """The wallet's base58 address."""
        return self._address

    def __len__(self) -> int:
        return len(self._blobs)

    def _check(self, index: int) -> int:
        if not 0 <= index < len(self._blobs):
            raise IndexError(f"index {index} outside a history of {len(self._blobs)}")
        return index

    def signature_info(self, index: int) -> SignatureInfo:
        """The ``getSignaturesForAddress`` item at ``index`` (0 = newest). Raises IndexError."""
        return SignatureInfo(**self._infos[self._check(index)])

    def index_of(self, signature: str) -> int | None:
        """Position of ``signature`` in the history, ``None`` if it is not this wallet's."""
        return self._index.get(signature)

    def transaction(self, index: int) -> dict[str, Any]:
        """A fresh copy of the enhanced transaction at ``index``. Raises IndexError."""
        result: dict[str, Any] = orjson.loads(self._blobs[self._check(index)])
        return result

    def transaction_json(self, index: int) -> bytes:
        """The enhanced transaction at ``index`` as the fixture holds it (JSON). Raises IndexError."""
        return self._blobs[self._check(index)]

    def assets(self) -> Mapping[str, AssetInfo]:
        """Metadata of every mint the history touches, by mint."""
        return self._assets


def parse_fixture(data: bytes) -> RecordedWallet:
    """A wallet from the fixture file's bytes (gzip'd JSON lines). Raises ValueError if malformed."""
    header, *lines = gzip.decompress(data).rstrip(b"\n").split(b"\n")
    meta = orjson.loads(header)
    if len(lines) != meta["count"]:
        raise ValueError(f"fixture announces {meta['count']} transactions but holds {len(lines)}")
    return RecordedWallet(meta["address"], lines, meta["assets"], meta["quirks"])


@cache
def load_recorded_wallet() -> RecordedWallet:
    """The recorded real wallet from the package's fixture, loaded once per process (~1 s).

    Raises FileNotFoundError when the fixture was not built (see ``rebuild``).
    """
    data = resources.files("walletdoctor.helius.emulator").joinpath(FIXTURE).read_bytes()
    return parse_fixture(data)
