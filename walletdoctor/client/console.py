"""``walletdoctor stream ADDRESS``: print a wallet's trades as they arrive, then its summary.

Standard output carries the results: one line per trade, then the summary
(with ``--json``: one JSON document per line, ``{"event": "trade", "data":
<trade object>}`` for each trade and ``{"event": "complete", "data":
{"trades_found", "duration", "summary"}}`` last, decimals as strings).
Standard error carries what happens on the way: progress, reconnects, and
the failure that ended the stream, if any.

Exit status: 0 after ``complete``, 1 when the stream failed (any
:class:`~walletdoctor.client.errors.StreamClientError`), 130 when interrupted.

The API key comes from ``--api-key`` or, so that it stays out of shell
history and process lists, from the ``WALLETDOCTOR_API_KEY`` environment
variable, which only the command-line layer (``walletdoctor.cli``) reads.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import sys
from dataclasses import dataclass
from decimal import Decimal
from typing import TextIO

import orjson

from walletdoctor.client.errors import StreamClientError
from walletdoctor.client.events import CompleteEvent, ConnectedEvent, ProgressEvent, Trade, TradesEvent
from walletdoctor.client.stream import WalletStream
from walletdoctor.client.summary import Summary

__all__ = [
    "API_KEY_VARIABLE",
    "STREAM_DESCRIPTION",
    "StreamCommand",
    "add_stream_arguments",
    "run_stream_args",
    "run_stream_command",
]

#: The environment variable ``walletdoctor stream`` takes the API key from when ``--api-key`` is absent.
API_KEY_VARIABLE = "WALLETDOCTOR_API_KEY"
STREAM_DESCRIPTION = (
    "Print a wallet's trades as they arrive from a WalletDoctor server, then its summary. "
    "Reconnects on its own (Last-Event-ID) when the connection breaks."
)

#: Tokens listed under the summary in text mode.
_TOP_TOKENS = 5


@dataclass(frozen=True, slots=True)
class StreamCommand:
    """The options of ``walletdoctor stream`` (``None``: the server's default)."""

    address: str
    url: str = "http://localhost:8080"
    api_key: str | None = None
    batch_size: int | None = None
    order: str | None = None
    as_json: bool = False


def add_stream_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``walletdoctor stream`` on ``parser``."""
    parser.add_argument("address", help="the wallet (base58 public key)")
    parser.add_argument("--url", default="http://localhost:8080", help="the server's base URL (default: %(default)s)")
    parser.add_argument("--api-key", help=f"API key (default: the {API_KEY_VARIABLE} environment variable)")
    parser.add_argument("--batch-size", type=int, help="trades per trades event, 1..1000 (server default: 100)")
    parser.add_argument("--order", choices=("asc", "desc"), help="oldest or newest first (server default: desc)")
    parser.add_argument("--json", action="store_true", help="one JSON document per line instead of text")


def run_stream_args(args: argparse.Namespace, *, environ_api_key: str | None) -> int:
    """Run ``walletdoctor stream`` with parsed ``args``; ``environ_api_key`` is
    :data:`API_KEY_VARIABLE`'s value, used when ``--api-key`` is absent. Returns the exit status."""
    command = StreamCommand(
        address=args.address,
        url=args.url,
        api_key=args.api_key or environ_api_key or None,
        batch_size=args.batch_size,
        order=args.order,
        as_json=args.json,
    )
    try:
        return asyncio.run(run_stream_command(command, sys.stdout, sys.stderr))
    except KeyboardInterrupt:
        return 130


async def run_stream_command(command: StreamCommand, out: TextIO, err: TextIO) -> int:
    """Read the stream of ``command`` to its end, printing as described in the module docstring.

    Returns the exit status (0 complete, 1 failed); never raises a stream failure.
    """
    stream = WalletStream(
        command.url, command.address, api_key=command.api_key, batch_size=command.batch_size, order=command.order
    )
    try:
        async with stream:
            async for event in stream:
                if isinstance(event, TradesEvent):
                    out.writelines(_trade_json(trade) if command.as_json else _trade_line(trade) for trade in event.trades)
                    out.flush()
                elif isinstance(event, ProgressEvent) and not command.as_json:
                    err.write(f"progress: {event.message}\n")
                elif isinstance(event, ConnectedEvent) and event.resumed:
                    waited = stream.reconnects[-1].duration_s if stream.reconnects else None
                    err.write(f"resumed after {waited or 0:.1f} s at {stream.last_event_id}\n")
                elif isinstance(event, CompleteEvent):
                    out.write(_complete_json(event) if command.as_json else _complete_text(event))
                    out.flush()
    except StreamClientError as exc:
        err.write(f"walletdoctor: {type(exc).__name__}: {exc}\n")
        if exc.last_event_id is not None:
            err.write(f"walletdoctor: last event received: {exc.last_event_id}\n")
        return 1
    return 0


def _trade_json(trade: Trade) -> str:
    return orjson.dumps({"event": "trade", "data": trade.to_json()}).decode() + "\n"


def _complete_json(event: CompleteEvent) -> str:
    data = {"trades_found": event.trades_found, "duration": event.duration, "summary": event.summary.to_json()}
    return orjson.dumps({"event": "complete", "data": data}).decode() + "\n"


def _trade_line(trade: Trade) -> str:
    when = datetime.datetime.fromtimestamp(trade.timestamp, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")
    value = "" if trade.value_usd is None else f"  ${_number(trade.value_usd, 2)}"
    pnl = "" if trade.pnl_usd is None else f"  pnl ${_number(trade.pnl_usd, 2)}"
    return (
        f"{when}  {trade.side.value:<4}  {_number(trade.amount_in)} {trade.token_in}"
        f" -> {_number(trade.amount_out)} {trade.token_out}{value}{pnl}  {trade.source}  {trade.signature}\n"
    )


def _complete_text(event: CompleteEvent) -> str:
    summary = event.summary
    lines = [f"complete: {event.trades_found} trades in {event.duration:.2f} s"]
    if summary.transactions_scanned is not None:
        lines[0] += f" ({summary.transactions_scanned} transactions scanned)"
    lines.append(
        f"buys {_count(summary.buys)}, sells {_count(summary.sells)}, swaps {_count(summary.swaps)},"
        f" tokens traded {_count(summary.tokens_traded)}"
    )
    lines.append(
        f"volume ${_money(summary.total_volume_usd)} over {_count(summary.priced_trades)} priced trades,"
        f" fees {_number(summary.total_fees_sol, 4)} SOL"
    )
    lines.append(
        f"realized P&L ${_money(summary.realized_pnl_usd)} / {_number(summary.realized_pnl_sol, 4)} SOL,"
        f" win rate {_percent(summary.win_rate)}, token win rate {_percent(summary.token_win_rate)}"
    )
    lines.extend(_top_tokens(summary))
    return "\n".join(lines) + "\n"


def _top_tokens(summary: Summary) -> list[str]:
    ranked = [t for t in summary.tokens if t.realized_pnl_usd is not None or t.realized_pnl_sol is not None]
    if not ranked:
        return []
    lines = ["top tokens by realized P&L:"]
    for token in ranked[:_TOP_TOKENS]:
        lines.append(
            f"  {token.symbol or token.mint}: ${_money(token.realized_pnl_usd)} / {_number(token.realized_pnl_sol, 4)} SOL,"
            f" ROI {_percent(token.roi)}, buys {_count(token.buys)}, sells {_count(token.sells)}"
        )
    return lines


def _number(value: Decimal | None, places: int | None = None) -> str:
    """Plain text of ``value`` (``-`` when unknown); rounded to ``places`` when given."""
    if value is None:
        return "-"
    if places is not None:
        value = round(value, places)
    return format(value, "f")


def _money(value: Decimal | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _percent(ratio: Decimal | None) -> str:
    return "-" if ratio is None else f"{ratio * 100:.1f} %"


def _count(value: int | None) -> str:
    return "-" if value is None else str(value)
