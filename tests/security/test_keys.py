"""API key format, hashed storage, constant-time verification, and where a request carries its key."""

from __future__ import annotations

import hashlib
import hmac
import re
from pathlib import Path

import pytest
from aiohttp.test_utils import make_mocked_request

from walletdoctor.security.keys import (
    KeySource,
    KeyStore,
    create_key,
    find_presented_key,
    generate_key,
    hash_key,
    is_well_formed,
    key_id,
    presented_key,
)


def test_generated_keys_have_the_documented_format_and_do_not_repeat() -> None:
    generated = {generate_key() for _ in range(1000)}
    assert len(generated) == 1000
    for key in generated:
        assert re.fullmatch(r"wd_[A-Za-z0-9_-]{32}", key)
        assert is_well_formed(key)


def test_create_key_returns_the_key_and_its_sha256_hash_line() -> None:
    key, line = create_key()
    assert line == "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    assert hash_key(key) == line
    assert key not in line
    assert key_id(line) == line[7:19]


def test_key_id_refuses_anything_but_a_hash() -> None:
    with pytest.raises(ValueError):
        key_id(generate_key())


def test_store_accepts_its_keys_and_refuses_others(api_key: tuple[str, str]) -> None:
    key, line = api_key
    other_key, other_line = create_key()
    store = KeyStore([line.upper().replace("SHA256:", "sha256:"), other_line, other_line])
    assert len(store) == 2
    assert store.verify(key) == key_id(line)
    assert store.verify(other_key) == key_id(other_line)
    assert store.verify(generate_key()) is None
    assert store.verify("wd_short") is None
    assert store.verify("") is None
    assert store.key_ids == {key_id(line), key_id(other_line)}


def test_verify_compares_with_every_stored_hash_even_after_a_match(monkeypatch: pytest.MonkeyPatch) -> None:
    pairs = [create_key() for _ in range(5)]
    store = KeyStore([line for _, line in pairs])
    calls: list[bool] = []
    real_compare = hmac.compare_digest

    def counting_compare(a: bytes, b: bytes) -> bool:
        result = real_compare(a, b)
        calls.append(result)
        return result

    monkeypatch.setattr(hmac, "compare_digest", counting_compare)
    assert store.verify(pairs[0][0]) is not None  # matches the first entry
    assert len(calls) == 5 and calls.count(True) == 1


def test_load_reads_the_setting_and_a_keys_file_with_comments(tmp_path: Path) -> None:
    pairs = [create_key() for _ in range(3)]
    keys_file = tmp_path / "keys"
    keys_file.write_text(f"# team keys\n\n{pairs[1][1]}  # alice\n   {pairs[2][1]}\n", encoding="utf-8")
    store = KeyStore.load(f" {pairs[0][1]} ,", keys_file)
    assert len(store) == 3
    assert all(store.verify(key) for key, _ in pairs)
    assert len(KeyStore.load([pairs[0][1]])) == 1
    assert len(KeyStore.load(None)) == 0


def test_a_raw_key_pasted_into_the_setting_is_refused_without_echoing_it() -> None:
    key, _ = create_key()
    with pytest.raises(ValueError) as caught:
        KeyStore.load(f"{hash_key(generate_key())},{key}")
    message = str(caught.value)
    assert key not in message
    assert "entry 2 of API_KEYS" in message and "raw API key" in message


def test_a_bad_line_in_the_keys_file_is_named_by_number_not_content(tmp_path: Path) -> None:
    key, line = create_key()
    keys_file = tmp_path / "keys"
    keys_file.write_text(f"{line}\n{key}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 2 of") as caught:
        KeyStore.load(None, keys_file)
    assert key not in str(caught.value)


@pytest.mark.parametrize(
    ("path", "headers", "source"),
    [
        ("/v4/x", {"Authorization": "Bearer {key}"}, KeySource.BEARER),
        ("/v4/x", {"Authorization": "bearer   {key} "}, KeySource.BEARER),
        ("/v4/x", {"X-API-Key": "{key}"}, KeySource.HEADER),
        ("/v4/x?api_key={key}&batch_size=5", {}, KeySource.QUERY),
        # Precedence: Authorization, then X-API-Key, then the query parameter.
        ("/v4/x?api_key=wd_other", {"X-API-Key": "{key}"}, KeySource.HEADER),
        ("/v4/x?api_key=wd_other", {"Authorization": "Bearer {key}", "X-API-Key": "wd_x"}, KeySource.BEARER),
        # Another scheme is not an API key; the next place is looked at.
        ("/v4/x?api_key={key}", {"Authorization": "Basic dXNlcjpwdw=="}, KeySource.QUERY),
    ],
)
def test_presented_key_is_read_from_each_place(
    api_key: tuple[str, str], path: str, headers: dict[str, str], source: KeySource
) -> None:
    key, _ = api_key
    request = make_mocked_request(
        "GET", path.format(key=key), headers={k: v.format(key=key) for k, v in headers.items()}
    )
    found = find_presented_key(request)
    assert found is not None and found.key == key and found.source is source
    assert presented_key(request) == key
    assert key not in repr(found)


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/v4/x", {}),
        ("/v4/x?api_key=", {"Authorization": "Bearer ", "X-API-Key": " "}),
        ("/v4/x", {"Authorization": "Basic x"}),
    ],
)
def test_no_presented_key(path: str, headers: dict[str, str]) -> None:
    assert presented_key(make_mocked_request("GET", path, headers=headers)) is None
