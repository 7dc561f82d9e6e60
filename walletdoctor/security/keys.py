"""API keys: their format, how they are stored (hashed), checked and read from a request.

DESIGN section 5: keys are ``wd_`` followed by 32 URL-safe characters, stored
hashed, compared in constant time, accepted as ``Authorization: Bearer``,
``X-API-Key`` or the ``api_key`` query parameter, and never logged.

Why a plain SHA-256 and not a password hash: a key carries 192 random bits
(:func:`secrets.token_urlsafe` of 24 bytes), so guessing a key from its hash
is as hopeless as guessing the key itself; salting and key stretching
(bcrypt, scrypt, Argon2) exist to protect low-entropy passwords and would
only add milliseconds of CPU to every request. GitHub stores its
high-entropy tokens the same way (a fast hash, looked up directly).

Stored form, one per entry of the ``API_KEYS`` setting (comma-separated) or
per line of a keys file (``#`` starts a comment)::

    sha256:<64 lowercase hex digits>

The ``key_id`` (first 12 hex digits of that hash, 48 bits: collisions among
even 10,000 keys have odds of about 2 in 10 million) names a key in logs,
metrics and Redis keys. It is not a secret and does not help find the key.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

__all__ = [
    "KEY_PREFIX",
    "QUERY_PARAMETER",
    "KeySource",
    "KeyStore",
    "PresentedKey",
    "create_key",
    "find_presented_key",
    "generate_key",
    "hash_key",
    "is_well_formed",
    "key_id",
    "presented_key",
]

KEY_PREFIX = "wd_"
#: Random bytes per key: 24 bytes are exactly 32 URL-safe base64 characters (192 bits).
_KEY_BYTES = 24
_KEY_PATTERN = re.compile(r"wd_[A-Za-z0-9_-]{32}")
_HASH_SCHEME = "sha256:"
_HASH_PATTERN = re.compile(r"sha256:[0-9a-f]{64}")
_KEY_ID_HEX_DIGITS = 12
#: Query parameter for browsers' ``EventSource``, which cannot set headers (DESIGN section 1).
QUERY_PARAMETER = "api_key"


def generate_key() -> str:
    """A new API key: ``wd_`` + 32 characters of ``[A-Za-z0-9_-]`` from :mod:`secrets` (192 bits)."""
    return KEY_PREFIX + secrets.token_urlsafe(_KEY_BYTES)


def is_well_formed(key: str) -> bool:
    """Whether ``key`` has the shape of an API key (says nothing about its validity)."""
    return _KEY_PATTERN.fullmatch(key) is not None


def hash_key(key: str) -> str:
    """The stored form of ``key``: ``sha256:<64 hex digits>`` of its UTF-8 bytes."""
    return _HASH_SCHEME + hashlib.sha256(key.encode()).hexdigest()


def key_id(key_hash: str) -> str:
    """The short, non-secret name of the key whose stored hash is ``key_hash`` (12 hex digits).

    Raises:
        ValueError: ``key_hash`` is not ``sha256:<64 hex digits>``.
    """
    if _HASH_PATTERN.fullmatch(key_hash) is None:
        raise ValueError("not a sha256:<64 hex digits> key hash")
    return key_hash[len(_HASH_SCHEME) : len(_HASH_SCHEME) + _KEY_ID_HEX_DIGITS]


def create_key() -> tuple[str, str]:
    """A new key and the line to store for it: ``(key, "sha256:<hex>")``.

    For ``walletdoctor keys create``: show the key once to its owner, keep only
    the hash line (in ``API_KEYS`` or the keys file).
    """
    key = generate_key()
    return key, hash_key(key)


class KeyStore:
    """The accepted keys, held as SHA-256 digests only.

    Args:
        hashes: stored hashes, ``sha256:<64 hex digits>`` each (hex case is ignored;
            duplicates are merged).
        source: where the hashes come from, named in errors (e.g. ``"API_KEYS"``).

    Raises:
        ValueError: an entry is not a hash. The message gives its position,
            never its text, since a misplaced raw key must not reach a log.
    """

    __slots__ = ("_entries",)

    def __init__(self, hashes: Iterable[str] = (), *, source: str = "API_KEYS") -> None:
        digests: dict[bytes, str] = {}
        for position, entry in enumerate(hashes, start=1):
            normalized = entry.strip().lower()
            if _HASH_PATTERN.fullmatch(normalized) is None:
                raise ValueError(_bad_entry_message(entry, f"entry {position} of {source}"))
            digests[bytes.fromhex(normalized[len(_HASH_SCHEME) :])] = key_id(normalized)
        self._entries: tuple[tuple[bytes, str], ...] = tuple(digests.items())

    @classmethod
    def load(
        cls, api_keys: str | Iterable[str] | None = None, keys_file: str | os.PathLike[str] | None = None
    ) -> KeyStore:
        """The keys of the ``API_KEYS`` setting (comma-separated string or list) and of a keys file.

        The file holds one hash per line; blank lines and text after ``#`` are ignored.

        Raises:
            ValueError: a malformed entry (named by position or file line).
            OSError: the keys file cannot be read.
        """
        if isinstance(api_keys, str):
            api_keys = api_keys.split(",")
        hashes = [entry for entry in (api_keys or ()) if entry.strip()]
        store = cls(hashes, source="API_KEYS")
        if keys_file is None:
            return store
        path = Path(keys_file)
        from_file: list[str] = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            entry = line.split("#", 1)[0].strip()
            if not entry:
                continue
            if _HASH_PATTERN.fullmatch(entry.lower()) is None:
                raise ValueError(_bad_entry_message(entry, f"line {number} of {path}"))
            from_file.append(entry)
        return cls([*hashes, *from_file])

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def key_ids(self) -> frozenset[str]:
        """The ``key_id`` of every accepted key."""
        return frozenset(kid for _, kid in self._entries)

    def verify(self, key: str) -> str | None:
        """The ``key_id`` of ``key`` if it is accepted, else ``None``.

        Constant time over the store: the presented key's digest is compared
        with every stored digest by :func:`hmac.compare_digest`, with no early
        exit, so timing tells neither which entry matched nor how much of a
        digest did. A malformed key is refused without hashing: its shape is public.
        """
        if not is_well_formed(key):
            return None
        digest = hashlib.sha256(key.encode()).digest()
        matched: str | None = None
        for stored, kid in self._entries:
            if hmac.compare_digest(digest, stored):
                matched = kid
        return matched


def _bad_entry_message(entry: str, where: str) -> str:
    hint = ""
    if entry.strip().startswith(KEY_PREFIX):
        hint = " (it looks like a raw API key: store only its hash, as printed by `walletdoctor keys create`)"
    return f"{where} is not of the form sha256:<64 hex digits>{hint}"


class KeySource(str, enum.Enum):
    """Where a request carried its key (safe to log)."""

    BEARER = "bearer"
    HEADER = "x-api-key"
    QUERY = "query"


@dataclass(frozen=True, slots=True)
class PresentedKey:
    """A key as a request carried it. ``repr`` leaves the key out, so logging this object is safe."""

    key: str = field(repr=False)
    source: KeySource


def find_presented_key(request: web.BaseRequest) -> PresentedKey | None:
    """The key a request carries, and where; ``None`` when it carries none.

    Looked for in this order, first non-empty value wins:
    ``Authorization: Bearer <key>`` (other schemes are ignored), ``X-API-Key``,
    then the ``api_key`` query parameter.
    """
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return PresentedKey(token.strip(), KeySource.BEARER)
    header = request.headers.get("X-API-Key", "").strip()
    if header:
        return PresentedKey(header, KeySource.HEADER)
    query = request.query.get(QUERY_PARAMETER, "").strip()
    if query:
        return PresentedKey(query, KeySource.QUERY)
    return None


def presented_key(request: web.BaseRequest) -> str | None:
    """The key a request carries (see :func:`find_presented_key`), or ``None``. Never log it."""
    found = find_presented_key(request)
    return found.key if found is not None else None
