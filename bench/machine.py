"""The machine and the software versions a run measured, for the report's header."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import resource
import shutil
import subprocess
from pathlib import Path
from typing import Any

import psutil

__all__ = ["describe_machine"]

_PACKAGES = (
    "walletdoctor", "aiohttp", "aiohttp-sse", "uvloop", "orjson", "sse-starlette", "starlette", "uvicorn",
    "httptools", "anyio", "flask", "gunicorn", "psutil", "matplotlib", "py-spy",
)
_REPO = Path(__file__).resolve().parent.parent


def _run(command: list[str], cwd: Path | None = None) -> str | None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10, cwd=cwd, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def describe_machine(walletdoctor_path: Path | None) -> dict[str, Any]:
    """CPU, memory, kernel, open-files limit, Python, Node.js, package versions, and the
    WalletDoctor source measured (git commit, and whether its tree had uncommitted changes)."""
    versions: dict[str, str | None] = {}
    for package in _PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    node = shutil.which("node")
    source = walletdoctor_path or _REPO
    status = _run(["git", "status", "--porcelain", "--", "walletdoctor"], cwd=source)
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "kernel": platform.release(),
        "open_files_limit": resource.getrlimit(resource.RLIMIT_NOFILE)[1],
        "python": platform.python_version(),
        "node": _run([node, "--version"]) if node else None,
        "versions": versions,
        "walletdoctor_source": str(source),
        "walletdoctor_commit": _run(["git", "rev-parse", "--short", "HEAD"], cwd=source) or "not a git checkout",
        "walletdoctor_uncommitted_changes": None if status is None else bool(status),
    }
