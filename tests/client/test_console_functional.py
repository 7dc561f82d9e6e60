"""``walletdoctor stream ADDRESS`` as a real process against a real WalletDoctor server."""

from __future__ import annotations

import asyncio
import os
import sys

import orjson

from tests.conftest import Emulator, ServerFactory, name_trades, read_stream
from walletdoctor.client.console import API_KEY_VARIABLE
from walletdoctor.security import create_key


async def run_cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run ``python -m walletdoctor stream ...``; returns (exit status, stdout, stderr)."""
    environment = {k: v for k, v in os.environ.items() if k != API_KEY_VARIABLE} | (env or {})
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "walletdoctor",
        "stream",
        *args,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_prints_each_trade_then_the_summary(emulator: Emulator, walletdoctor: ServerFactory) -> None:
    wallet = emulator.synthetic("cli-text", 240)
    base = await walletdoctor()
    reference = await read_stream(f"{base}/v4/wallet/{wallet}/stream")
    trades = reference.trades()
    complete = reference.data("complete")[0]

    status, out, err = await run_cli(wallet, "--url", base, "--batch-size", "25")

    assert status == 0, err
    lines = out.splitlines()
    assert len(lines) > len(trades)
    trade_lines, summary_lines = lines[: len(trades)], lines[len(trades) :]
    for line, trade in zip(trade_lines, trades, strict=True):
        assert line.endswith(trade["signature"]), line
        assert f" {trade['side']} " in line and trade["amount_in"] in line
    assert summary_lines[0].startswith(f"complete: {complete['trades_found']} trades in ")
    summary = complete["summary"]
    assert f"buys {summary['buys']}, sells {summary['sells']}, swaps {summary['swaps']}" in summary_lines[1]
    assert "progress: " in err


async def test_json_lines_carry_the_wire_trade_objects_and_the_summary(
    emulator: Emulator, walletdoctor: ServerFactory
) -> None:
    wallet = emulator.synthetic("cli-json", 150)
    base = await walletdoctor()
    reference = await read_stream(f"{base}/v4/wallet/{wallet}/stream?order=asc")

    status, out, err = await run_cli(wallet, "--url", base, "--order", "asc", "--json")

    assert status == 0, err
    documents = [orjson.loads(line) for line in out.splitlines()]
    complete = reference.data("complete")[0]
    cli_trades = [d["data"] for d in documents if d["event"] == "trade"]
    assert name_trades(cli_trades, complete["summary"]) == reference.named_trades()
    assert documents[-1]["event"] == "complete"
    assert documents[-1]["data"]["summary"] == complete["summary"]
    assert documents[-1]["data"]["trades_found"] == complete["trades_found"]
    assert err == ""


async def test_api_key_from_the_environment_and_failures_on_stderr(
    emulator: Emulator, walletdoctor: ServerFactory
) -> None:
    key, line = create_key()
    base = await walletdoctor(api_keys=line)
    wallet = emulator.synthetic("cli-key", 40)

    status, out, err = await run_cli(wallet, "--url", base, "--json", env={API_KEY_VARIABLE: key})
    assert status == 0, err
    assert orjson.loads(out.splitlines()[-1])["event"] == "complete"

    status, out, err = await run_cli(wallet, "--url", base, env={API_KEY_VARIABLE: "wd_" + "x" * 32})
    assert (status, out) == (1, "")
    assert "Unauthorized: HTTP 401" in err

    status, out, err = await run_cli("not-a-wallet", "--url", base, "--api-key", key)
    assert (status, out) == (1, "")
    assert "BadRequest: HTTP 400" in err
