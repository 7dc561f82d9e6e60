"""The exception tree drawn in walletdoctor/client/errors.py is the one the classes form."""

from __future__ import annotations

import re

from walletdoctor.client import errors


def test_the_drawn_tree_matches_the_classes() -> None:
    assert errors.__doc__ is not None
    drawn: dict[str, str] = {}
    parents: list[tuple[int, str]] = []
    for line in errors.__doc__.splitlines():
        match = re.match(r"^(\s*)(?:[│ ]*[├└]── )?([A-Z][A-Za-z]+)\b", line)
        if match is None or not hasattr(errors, match.group(2)) or line.strip().startswith(("What", "and")):
            continue
        depth = len(line) - len(line.lstrip(" │├└─"))
        while parents and parents[-1][0] >= depth:
            parents.pop()
        if parents:
            drawn[match.group(2)] = parents[-1][1]
        parents.append((depth, match.group(2)))
    actual = {
        name: cls.__mro__[1].__name__
        for name in errors.__all__
        if isinstance(cls := getattr(errors, name), type) and name != "StreamClientError"
    }
    assert drawn == actual


def test_every_error_carries_the_position() -> None:
    refusal = errors.RateLimited("HTTP 429", status=429, retry_after_s=2, last_event_id="s:9")
    assert isinstance(refusal, errors.StreamClientError) and refusal.last_event_id == "s:9"
    exhausted = errors.ReconnectsExhausted(3, last_event_id="s:2")
    assert exhausted.attempts == 3 and "3 reconnect attempts" in str(exhausted)
