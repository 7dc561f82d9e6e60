"""A run's figures as ``results.json`` and ``results.md`` (tables laid out as PEER_BENCH's), plus plots."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson

from bench.servers import describe
from bench.targets import judge

__all__ = ["markdown", "write_reports"]

_Column = tuple[str, Callable[[dict[str, Any]], Any]]


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _table(rows: Sequence[dict[str, Any]], columns: Sequence[_Column]) -> list[str]:
    failed = [r for r in rows if "error" in r]
    rows = [r for r in rows if "error" not in r]
    lines = ["| " + " | ".join(title for title, _ in columns) + " |",
             "|" + "|".join("---" if i == 0 else "---:" for i in range(len(columns))) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(_fmt(get(row)) for _, get in columns) + " |")
    if failed:
        lines += ["", "Failed: " + "; ".join(f"{r['server']}: {r['error']}" for r in failed) + "."]
    return lines


def _idle(scenario: dict[str, Any], settings: dict[str, Any]) -> list[str]:
    rows = [r for r in scenario["rows"] if "skipped" not in r]
    out = [f"## A. Idle capacity (heartbeat every {settings['heartbeat_s']:g} s, hold {settings['hold_s']:g} s)", "",
           f"Late = more than {settings['late_s']:g} s after connected + k x interval; KB/conn = (RSS holding - "
           "RSS before) / connected; CPU % over the hold (100 % = one core).", ""]
    out += _table(rows, [
        ("server", lambda r: r["server"]), ("C", lambda r: r["C"]), ("connected", lambda r: r["connected"]),
        ("failed", lambda r: r["failed"]), ("hb recv/expected", lambda r: f"{r['hb_received']}/{r['hb_expected']}"),
        ("late", lambda r: r["late"]), ("missed", lambda r: r["missed"]),
        ("max hb lateness s", lambda r: round(r["max_lateness_s"], 2)),
        ("RSS before MiB", lambda r: r["rss_before_mib"]), ("RSS holding MiB", lambda r: r["rss_holding_mib"]),
        ("KB/conn", lambda r: r["kb_per_conn"]), ("server CPU %", lambda r: r["server_cpu_pct"]),
        ("client CPU %", lambda r: r["client_cpu_pct"]), ("ramp s", lambda r: r["ramp_s"]),
        ("RSS after close MiB", lambda r: r["rss_after_close_mib"]),
        ("gone after close s", lambda r: r["gone_after_close_s"]),
    ])
    skipped = [r for r in scenario["rows"] if "skipped" in r]
    if skipped:
        out += ["", "Not tried: " + "; ".join(f"{r['server']} C={r['C']} ({r['skipped']})" for r in skipped) + "."]
    return out


def _storm(scenario: dict[str, Any]) -> list[str]:
    out = ["## B. Connect storm (lightweight client, all clients at once)", "",
           "TTFE = connect issued -> `connected` received; p50/p99 = medians over the repetitions, which go round "
           "the servers (every server up for the whole scenario).", ""]
    out += _table(scenario["rows"], [
        ("server", lambda r: r["server"]), ("connected (min over reps)", lambda r: f"{r['connected_min']}/{r['clients']}"),
        ("TTFE p50 ms", lambda r: r["ttfe_p50_ms"]), ("TTFE p99 ms", lambda r: r["ttfe_p99_ms"]),
        ("all connected after ms", lambda r: r["all_connected_ms"]), ("server CPU-s", lambda r: r["server_cpu_s"]),
        ("per-rep p50 / p99 ms", lambda r: "; ".join(f"{_fmt(x['p50_ms'], 0)} / {_fmt(x['p99_ms'], 0)}" for x in r["reps"])),
    ])
    return out


def _fanout(scenario: dict[str, Any]) -> list[str]:
    out = ["## C. Fan-out (lightweight sink)", "",
           f"Trades frame: {scenario['frame_bytes']} bytes ({scenario['frame_bytes_source']}). Window = first "
           "request + delay -> last `trades` received; cut = the run hit its time cap. Each row is the run with "
           "the median events/s of a server's runs (a fresh server each, the servers taking turns).", ""]
    out += _table(scenario["rows"], [
        ("server", lambda r: r["server"]), ("events delivered", lambda r: f"{r['events']}/{r['events_expected']}"),
        ("streams complete", lambda r: f"{r['streams_complete']}/{r['streams']}"),
        ("connected before start", lambda r: r["connected_before_start"]),
        ("window s", lambda r: round(r["window_s"], 2)), ("cut", lambda r: r["cut"]),
        ("events/s", lambda r: round(r["events_per_s"])),
        ("events/s of each run", lambda r: ", ".join(str(round(e)) for e in r.get("events_per_s_reps", [r["events_per_s"]]))),
        ("MB/s", lambda r: round(r["mb_per_s"])),
        ("server CPU %", lambda r: r["server_cpu_pct"]), ("client CPU %", lambda r: r["client_cpu_pct"]),
        ("emulator CPU %", lambda r: r["emulator_cpu_pct"]),
        ("server CPU-s per GB", lambda r: None if r["server_cpu_s_per_gb"] is None else round(r["server_cpu_s_per_gb"], 2)),
        ("RSS before MiB", lambda r: r["rss_before_mib"]), ("RSS peak MiB", lambda r: r["rss_peak_mib"]),
    ])
    return out


def _disconnects(scenario: dict[str, Any]) -> list[str]:
    out = ["## D. Disconnects (half the clients SIGKILLed)", "",
           "Notice = SIGKILL -> the server's own count of open streams down by the killed process's open streams; "
           "RSS later = `settle_s` after the notice.", ""]
    out += _table(scenario["rows"], [
        ("server", lambda r: r["server"]), ("connected", lambda r: r["connected"]),
        ("killed open", lambda r: r["killed_open"]), ("active before", lambda r: r["active_before"]),
        ("notice s", lambda r: None if r["notice_s"] is None else round(r["notice_s"], 3)),
        ("active after", lambda r: r["active_after"]), ("RSS before MiB", lambda r: r["rss_before_mib"]),
        ("RSS at notice MiB", lambda r: r["rss_at_notice_mib"]), ("RSS later MiB", lambda r: r["rss_later_mib"]),
        ("RSS freed KB", lambda r: round(r["rss_freed_kb"])),
    ])
    return out


def _whole_wallet(scenario: dict[str, Any]) -> list[str]:
    bound, original = scenario["bound"], scenario["original"]
    settings = scenario["emulator_settings"]
    out = ["## E. Whole wallet (real wallet, emulator defaults)", "",
           f"Emulator: RPC {settings['rpc_latency_s']} s, enhanced {settings['enhanced_latency_s']} s, "
           f"jitter {settings['latency_jitter']}, {settings['enhanced_rps']} enhanced requests/s. Upstream bound "
           f"(bench/bounds.py): total {bound['total_s']:.2f} s ({bound['signature_pages']} signature pages, "
           f"{bound['enhanced_requests']} enhanced requests), first trades {bound['first_trades_s']:.2f} s. "
           f"Original WalletDoctor: {original['first_byte_s'] * 1000:.0f} ms to first byte, "
           f"{original['total_s']} s total, {original['trades']} trades.", ""]
    out += _table(scenario["rows"], [
        ("caches", lambda r: r["caches"]), ("first byte s", lambda r: r["first_byte_s"]),
        ("first trades s", lambda r: None if r["first_trades_s"] is None else round(r["first_trades_s"], 3)),
        ("total s", lambda r: None if r["total_s"] is None else round(r["total_s"], 2)),
        ("x bound", lambda r: None if r["total_s"] is None else round(r["total_s"] / bound["total_s"], 2)),
        ("x original total", lambda r: None if r["total_s"] is None else round(r["total_s"] / original["total_s"], 2)),
        ("trades", lambda r: r["trades_found"]), ("transactions", lambda r: r["transactions"]),
        ("upstream requests", lambda r: ", ".join(f"{k} {v}" for k, v in r["upstream_requests"].items() if v)),
    ])
    return out


def _big_wallet(scenario: dict[str, Any]) -> list[str]:
    out = ["## F. Big wallet (synthetic, no upstream latency)", ""]
    out += _table(scenario["rows"], [
        ("transactions", lambda r: r["transactions"]), ("trades", lambda r: r["trades_found"]),
        ("completed", lambda r: r["completed"]), ("total s", lambda r: r["total_s"]),
        ("trades/s", lambda r: None if r["trades_per_s"] is None else round(r["trades_per_s"])),
        ("transactions/s", lambda r: None if r["transactions_per_s"] is None else round(r["transactions_per_s"])),
        ("server CPU-s", lambda r: r["server_cpu_s"]), ("RSS start MiB", lambda r: r["rss_start_mib"]),
        ("RSS peak MiB", lambda r: r["rss_peak_mib"]), ("RSS end MiB", lambda r: r["rss_end_mib"]),
        ("peak growth MiB", lambda r: r["rss_growth_mib"]),
    ])
    return out


def _ratios(results: dict[str, Any]) -> list[str]:
    """Per server, against the floor of the same run (x > 1: needs more, or delivers more for MB/s)."""
    idle_rows = [r for r in results.get("idle", {}).get("rows", []) if "skipped" not in r and "error" not in r]
    top = max((r["C"] for r in idle_rows if r["server"] == "floor"), default=None)

    def find(scenario: str, server: str, **match: Any) -> dict[str, Any] | None:
        for row in results.get(scenario, {}).get("rows", []):
            if "error" in row or "skipped" in row:
                continue
            if row.get("server") == server and all(row.get(k) == v for k, v in match.items()):
                return row
        return None

    def ratio(a: Any, b: Any) -> float | None:
        return None if a is None or not b else a / b

    servers = list(dict.fromkeys(r["server"] for s in ("idle", "storm", "fanout") for r in results.get(s, {}).get("rows", [])))
    base_idle, base_storm, base_fan = find("idle", "floor", C=top), find("storm", "floor"), find("fanout", "floor")
    rows = []
    for server in servers:
        idle, storm, fan = find("idle", server, C=top), find("storm", server), find("fanout", server)
        rows.append({
            "server": server,
            "kb": idle and idle.get("kb_per_conn"),
            "x_kb": ratio(idle and idle.get("kb_per_conn"), base_idle and base_idle.get("kb_per_conn")),
            "cpu_us": idle and idle.get("idle_cpu_us_per_heartbeat"),
            "x_cpu": ratio(idle and idle.get("idle_cpu_us_per_heartbeat"), base_idle and base_idle.get("idle_cpu_us_per_heartbeat")),
            "p99": storm and storm.get("ttfe_p99_ms"),
            "x_p99": ratio(storm and storm.get("ttfe_p99_ms"), base_storm and base_storm.get("ttfe_p99_ms")),
            "eps": fan and fan.get("events_per_s"),
            "x_eps": ratio(fan and fan.get("events_per_s"), base_fan and base_fan.get("events_per_s")),
            "gb": fan and fan.get("server_cpu_s_per_gb"),
            "x_gb": ratio(fan and fan.get("server_cpu_s_per_gb"), base_fan and base_fan.get("server_cpu_s_per_gb")),
        })
    out = [f"## Ratios against the floor (idle at C={top}, storm, fan-out)", ""]
    out += _table(rows, [
        ("server", lambda r: r["server"]), ("KB/stream", lambda r: r["kb"]), ("x KB/stream", lambda r: _r(r["x_kb"])),
        ("idle CPU us per heartbeat", lambda r: r["cpu_us"]), ("x idle CPU", lambda r: _r(r["x_cpu"])),
        ("storm p99 ms", lambda r: r["p99"]), ("x p99", lambda r: _r(r["x_p99"])),
        ("fan-out events/s", lambda r: None if r["eps"] is None else round(r["eps"])), ("x events/s", lambda r: _r(r["x_eps"])),
        ("server CPU-s/GB", lambda r: _r(r["gb"])), ("x CPU-s/GB", lambda r: _r(r["x_gb"])),
    ])
    return out


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def markdown(meta: dict[str, Any], results: dict[str, Any], plots: Sequence[Path]) -> str:
    """The run as Markdown: header (command, date, machine, versions), verdicts, one table per scenario."""
    machine = meta["machine"]
    lines = [f"# WalletDoctor bench, {meta['preset']} preset", "",
             f"- command: `{meta['command']}`", f"- date: {meta['date']} (run took {meta['elapsed_s']:.0f} s)",
             f"- machine: {machine['cores']} cores ({machine['cpu']}), {machine['memory_gib']} GiB, Linux "
             f"{machine['kernel']}, open files {machine['open_files_limit']} per process; server on CPU 0, "
             "load generators and emulator on CPU 1, loopback only",
             f"- 1-minute load average at start / end: {meta.get('load_average_start', 0):.2f} / "
             f"{meta.get('load_average_end', 0):.2f} (other work on this shared 2-core machine shows here)",
             f"- WalletDoctor from {machine['walletdoctor_source']} (commit {machine['walletdoctor_commit']}, "
             f"uncommitted changes under walletdoctor/: {_fmt(machine['walletdoctor_uncommitted_changes'])})",
             f"- Python {machine['python']}, Node.js {machine['node']}; "
             + ", ".join(f"{k} {v}" for k, v in machine["versions"].items() if v),
             "", "Servers: " + "; ".join(f"`{s}` = {describe(s)}" for s in meta["servers"]) + ".", ""]
    if meta["preset"] != "full":
        lines += [f"Small preset: smaller sizes and a {meta['settings']['heartbeat_s']:g} s heartbeat; "
                  "the verdicts are indicative only.", ""]
    lines += ["## Targets", ""]
    lines += _table(judge(results), [("target", lambda r: r["target"]), ("verdict", lambda r: r["verdict"]),
                                     ("figure", lambda r: r["figure"])])
    sections: dict[str, Callable[[dict[str, Any]], list[str]]] = {
        "storm": _storm, "fanout": _fanout, "disconnects": _disconnects,
        "whole-wallet": _whole_wallet, "big-wallet": _big_wallet,
    }
    for name, scenario in results.items():
        if name == "profile":
            continue
        lines.append("")
        if scenario.get("error"):
            lines += [f"## {name}", "", f"Failed: {scenario['error']}"]
        elif name == "idle":
            lines += _idle(scenario, meta["settings"])
        elif name in sections and scenario.get("rows"):
            lines += sections[name](scenario)
    if any(k in results for k in ("idle", "storm", "fanout")):
        lines += [""] + _ratios(results)
    if "profile" in results:
        lines += ["", "## Profile of WalletDoctor", "", results["profile"].get("markdown", "")]
    if plots:
        lines += ["", "## Plots", ""] + [f"![{p.stem}]({p.name})" for p in plots]
    if meta.get("notes"):
        lines += ["", "## Notes", ""] + [f"- {n}" for n in meta["notes"]]
    return "\n".join(lines) + "\n"


def write_reports(out: Path, meta: dict[str, Any], results: dict[str, Any]) -> list[Path]:
    """Write ``results.json``, the plots and ``results.md`` into ``out``; print the Markdown; return the paths."""
    from bench.plots import draw_plots

    plots = draw_plots(out, results)
    payload = {"meta": meta, "verdicts": judge(results), "results": results}
    json_path = out / "results.json"
    json_path.write_bytes(orjson.dumps(payload, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS))
    text = markdown(meta, results, plots)
    md_path = out / "results.md"
    md_path.write_text(text)
    print(text)
    return [json_path, md_path, *plots]
