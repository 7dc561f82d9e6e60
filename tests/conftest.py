"""Fixtures shared by the whole suite."""

from __future__ import annotations

from pathlib import Path

import pytest

REAL_WALLET = "3JoVBiQEA2QKsq7TzW5ez5jVRtbbYgTNijoZzp5qgkr2"

_SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """``../shared/data`` beside the checkout: the real wallet's recorded Helius
    pages and activity export (read-only ground truth for the tests)."""
    if not _SHARED_DATA.is_dir():
        pytest.fail(f"real wallet data not found at {_SHARED_DATA}; the tests need ../shared beside the checkout")
    return _SHARED_DATA
