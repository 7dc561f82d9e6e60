"""``python -m bench``: run the scenarios against WalletDoctor and its peers, write the figures.

Example: ``python -m bench --preset small --out /tmp/bench``. Writes
``results.json``, ``results.md``, PNG plots and the processes' logs
(``logs/``) to ``--out`` and prints each figure as it is measured.
"""

from __future__ import annotations

import argparse
import datetime
import os
import signal
import sys
import time
import traceback
from pathlib import Path
from types import FrameType
from typing import Any

from bench.context import Bench
from bench.generators import LOAD_CPU
from bench.machine import describe_machine
from bench.presets import PRESETS
from bench.processes import ProcessKeeper
from bench.servers import SERVER_NAMES, Launcher
from bench.upstream import FANOUT_WALLET, FANOUT_WALLET_SIZE, IDLE_WALLET, Emulator, big_wallet_address

__all__ = ["main"]

_DEFAULT_OUT = Path(__file__).resolve().parent / "results"


def _parser() -> argparse.ArgumentParser:
    from bench.scenarios import SCENARIOS

    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=sorted(PRESETS), default="small")
    parser.add_argument("--scenarios", nargs="+", choices=list(SCENARIOS), default=list(SCENARIOS), metavar="NAME",
                        help=f"scenarios to run (default: all: {' '.join(SCENARIOS)})")
    parser.add_argument("--servers", nargs="+", choices=SERVER_NAMES, default=list(SERVER_NAMES), metavar="NAME",
                        help=f"servers to measure (default: all: {' '.join(SERVER_NAMES)})")
    parser.add_argument("--out", type=Path, default=_DEFAULT_OUT, help=f"output directory (default: {_DEFAULT_OUT})")
    parser.add_argument("--walletdoctor-path", type=Path, metavar="DIR",
                        help="run WalletDoctor from this source tree instead of the installed package")
    parser.add_argument("--profile", action="store_true",
                        help="also profile WalletDoctor (py-spy, tracemalloc) in separate idle and fan-out runs")
    return parser


def _terminate(signum: int, frame: FrameType | None) -> None:
    # SIGTERM unwinds like Ctrl-C, so the finally blocks end every process.
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m bench``."""
    from bench.report import write_reports
    from bench.scenarios import SCENARIOS, WALLETDOCTOR_ONLY

    args = _parser().parse_args(argv)
    preset = PRESETS[args.preset]
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _terminate)
    # The bench itself (samplers, probes) stays off the server's CPU.
    os.sched_setaffinity(0, {LOAD_CPU})
    started = time.monotonic()
    meta: dict[str, Any] = {
        "preset": preset.name,
        "command": "python -m bench " + " ".join(sys.argv[1:] if argv is None else argv),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": describe_machine(args.walletdoctor_path),
        "servers": args.servers,
        "scenarios": args.scenarios,
        "settings": {k: v for k, v in vars(preset).items()},
        # Other work on this shared machine shows here (1-minute load average at start and end).
        "load_average_start": os.getloadavg()[0],
    }
    results: dict[str, Any] = {}
    with ProcessKeeper(out / "logs") as keeper:
        launcher = Launcher(keeper, out / "work", args.walletdoctor_path)
        bench = Bench(preset, keeper, launcher, list(args.servers), out, profile=args.profile)
        if "walletdoctor" in args.servers:
            synthetic = {FANOUT_WALLET: FANOUT_WALLET_SIZE, IDLE_WALLET: 1000, big_wallet_address(): preset.big_wallet_size}
            bench.emulator = Emulator.start(keeper, launcher.base_env(walletdoctor=True), synthetic)
        for name in args.scenarios:
            if name in WALLETDOCTOR_ONLY and "walletdoctor" not in args.servers:
                continue
            began = time.monotonic()
            try:
                results[name] = SCENARIOS[name](bench)
            except Exception as exc:  # one broken scenario must not lose the others' figures
                traceback.print_exc()
                bench.say(f"{name} failed: {type(exc).__name__}: {exc}")
                results[name] = {"rows": [], "error": f"{type(exc).__name__}: {exc}"}
            results[name]["elapsed_s"] = time.monotonic() - began
        if args.profile and bench.emulator is not None:
            from bench.profiling import profile_walletdoctor

            results["profile"] = profile_walletdoctor(bench)
    meta["elapsed_s"] = time.monotonic() - started
    meta["load_average_end"] = os.getloadavg()[0]
    meta["notes"] = bench.notes
    paths = write_reports(out, meta, results)
    print(f"bench: {meta['elapsed_s']:.0f} s; wrote {', '.join(str(p) for p in paths)}")
