import pytest

from walletdoctor.api.params import parse_stream_params
from walletdoctor.errors import ErrorCode, InvalidRequest

from tests.conftest import REAL_WALLET


def test_defaults() -> None:
    params = parse_stream_params(REAL_WALLET, {})
    assert params.wallet == REAL_WALLET
    assert params.batch_size == 100
    assert params.window.since is None and params.window.until is None


def test_order() -> None:
    assert parse_stream_params(REAL_WALLET, {}).order.value == "desc"
    assert parse_stream_params(REAL_WALLET, {"order": "asc"}).order.value == "asc"


def test_window_and_batch_size() -> None:
    params = parse_stream_params(REAL_WALLET, {"batch_size": "7", "since": "10", "until": "20"})
    assert (params.batch_size, params.window.since, params.window.until) == (7, 10, 20)


@pytest.mark.parametrize(
    ("address", "query", "code", "parameter"),
    [
        ("nope", {}, ErrorCode.INVALID_ADDRESS, None),
        (REAL_WALLET, {"batch_size": "0"}, ErrorCode.INVALID_REQUEST, "batch_size"),
        (REAL_WALLET, {"batch_size": "1001"}, ErrorCode.INVALID_REQUEST, "batch_size"),
        (REAL_WALLET, {"batch_size": "ten"}, ErrorCode.INVALID_REQUEST, "batch_size"),
        (REAL_WALLET, {"since": "-1"}, ErrorCode.INVALID_REQUEST, "since"),
        (REAL_WALLET, {"since": "30", "until": "20"}, ErrorCode.INVALID_REQUEST, "since"),
        (REAL_WALLET, {"order": "newest"}, ErrorCode.INVALID_REQUEST, "order"),
    ],
)
def test_bad_input_is_refused_with_its_code(address: str, query: dict[str, str], code: ErrorCode, parameter: str | None) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_stream_params(address, query)
    assert caught.value.code is code
    assert caught.value.code.http_status == 400
    if parameter is not None:
        assert caught.value.details["parameter"] == parameter
