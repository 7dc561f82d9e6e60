from decimal import Decimal

import pytest

from walletdoctor.solana import InvalidAddressError, lamports_to_sol, validate_address

from tests.conftest import REAL_WALLET


def test_real_wallet_address_is_valid() -> None:
    assert validate_address(REAL_WALLET) == REAL_WALLET


@pytest.mark.parametrize(
    "address",
    [
        "",
        "not-an-address",
        "0OIl" * 10,  # characters outside the base58 alphabet
        REAL_WALLET[:-4],  # decodes to fewer than 32 bytes
        REAL_WALLET + "abc",  # too long
    ],
)
def test_invalid_addresses_are_refused(address: str) -> None:
    with pytest.raises(InvalidAddressError):
        validate_address(address)


def test_system_program_address_is_a_valid_public_key() -> None:
    assert validate_address("11111111111111111111111111111111")


def test_lamports_to_sol_is_exact() -> None:
    assert lamports_to_sol(77_849_895) == Decimal("0.077849895")
    assert lamports_to_sol(1) == Decimal("0.000000001")
