"""The whole wallet's upstream bound: the earliest schedule the emulator's latency and window allow."""

from __future__ import annotations

import pytest

from bench.bounds import upstream_bound

DEFAULTS = {"rpc_latency_s": 0.15, "enhanced_latency_s": 0.6, "enhanced_rps": 50}


def test_the_real_wallet_waits_for_the_window_as_well_as_for_its_pages() -> None:
    bound = upstream_bound(7439, 820, DEFAULTS)
    assert (bound.signature_pages, bound.enhanced_requests) == (8, 76)
    assert bound.listing_s == pytest.approx(1.80) and bound.rate_s == pytest.approx(1.75)
    # Requests 51..75 wait a second after requests 1..25 (pages 1..3, listed by
    # 0.45 s): the last parse leaves at 1.45 s, 0.25 s after its page is listed.
    assert bound.total_s == pytest.approx(2.05)
    assert bound.first_trades_s == pytest.approx(0.75)


def test_without_a_rate_limit_the_listing_is_the_bound() -> None:
    bound = upstream_bound(7439, 820, DEFAULTS | {"enhanced_rps": 0})
    assert bound.total_s == pytest.approx(bound.listing_s) == pytest.approx(1.80)


def test_a_window_that_is_never_full_costs_nothing() -> None:
    bound = upstream_bound(2500, 100, DEFAULTS)
    assert bound.total_s == pytest.approx(3 * 0.15 + 0.6)


def test_an_empty_history_is_one_page() -> None:
    bound = upstream_bound(0, 0, DEFAULTS)
    assert bound.total_s == pytest.approx(0.15) and bound.rate_s >= 0
