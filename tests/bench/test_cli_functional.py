"""Smoke test of the bench: ``python -m bench --preset small`` runs end to end and writes its figures.

It asserts that every scenario measured every server and wrote the JSON,
the Markdown and the plots; it prints the Markdown. It asserts no timing:
the figures of a shared CI machine are for reading, not for gating.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

_REPO = Path(__file__).resolve().parents[2]
_SERVERS = ["walletdoctor", "floor", "starlette", "flask-sync", "flask-gthread", "node"]


def _rows(results: dict[str, Any], scenario: str) -> list[dict[str, Any]]:
    return list(results["results"][scenario]["rows"])


@pytest.mark.timeout(900)
def test_small_preset_measures_every_server_and_writes_the_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    servers = [s for s in _SERVERS if s != "node" or shutil.which("node")]
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--preset", "small", "--out", str(tmp_path), "--servers", *servers],
        cwd=_REPO, capture_output=True, text=True, timeout=880, check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = orjson.loads((tmp_path / "results.json").read_bytes())
    assert {p.name for p in tmp_path.glob("*.png")} == {"idle_memory.png", "idle_cpu.png", "storm_latency.png"}

    for scenario in ("idle", "storm", "fanout", "disconnects"):
        assert "error" not in results["results"][scenario], results["results"][scenario]
        rows = _rows(results, scenario)
        assert [r["server"] for r in rows if "error" not in r] == servers, (scenario, rows)
    # Every server but the sync workers (two streams at a time) holds every idle stream.
    for row in _rows(results, "idle"):
        expected = 2 if row["server"] == "flask-sync" else row["C"]
        assert row["connected"] == expected, row
    floor = next(r for r in _rows(results, "fanout") if r["server"] == "floor")
    assert floor["events"] == floor["events_expected"]

    whole = _rows(results, "whole-wallet")[0]
    assert whole["completed"] and whole["trades_found"] == 6483 and whole["transactions"] == 7439
    big = _rows(results, "big-wallet")[0]
    assert big["completed"] and big["transactions"] == results["meta"]["settings"]["big_wallet_size"]
    assert [v["target"][:5] for v in results["verdicts"]] == ["idle:", "storm", "fan-o", "whole", "big w"]

    report = (tmp_path / "results.md").read_text()
    assert "## Targets" in report and "## A. Idle capacity" in report
    with capsys.disabled():
        print("\n" + report)
