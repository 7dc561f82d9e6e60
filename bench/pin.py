"""Run a command pinned to one CPU with the open-files limit raised to its hard limit.

Run: ``python -m bench.pin CPU -- COMMAND [ARGS...]``

Sets the CPU affinity and ``RLIMIT_NOFILE`` of this process, then replaces
itself with the command (``os.execvp``): the command keeps this PID, so
the bench can watch and end it by PID, and its children inherit both
settings (gunicorn workers, for instance). This is ``taskset -c CPU``
plus ``ulimit -n hard`` without a shell, and without ``preexec_fn``
(unsafe when the parent runs threads, as the bench's samplers do).
"""

from __future__ import annotations

import os
import resource
import sys

__all__ = ["main", "raise_open_files_limit"]


def raise_open_files_limit() -> int:
    """Raise this process's soft ``RLIMIT_NOFILE`` to its hard limit; returns the new limit."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def main(argv: list[str] | None = None) -> None:
    """Entry point: ``CPU -- COMMAND...``; exits with status 2 on a malformed command line."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) < 3 or args[1] != "--" or not args[0].isdigit():
        sys.exit("usage: python -m bench.pin CPU -- COMMAND [ARGS...]")
    os.sched_setaffinity(0, {int(args[0])})
    raise_open_files_limit()
    os.execvp(args[2], args[2:])


if __name__ == "__main__":
    main()
