"""Settings: defaults, environment names, production's refusal of unsafe settings (through the real
``walletdoctor serve`` command too), and the example env file in config/."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from tests.conftest import free_port
from tests.servers import SETTINGS_VARIABLES, clean_environment
from walletdoctor.config import Settings
from walletdoctor.security import create_key

_HASH = "sha256:" + "0" * 64


def test_stream_timeout_reads_the_documented_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAM_TIMEOUT", "42")
    assert Settings(_env_file=None).stream_timeout_s == 42


def test_development_needs_nothing() -> None:
    assert Settings(_env_file=None).unsafe_setting() is None


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({}, "API_KEYS"),
        ({"api_keys_file": "/nonexistent/keys"}, "API_KEYS_FILE"),
        ({"api_keys": _HASH, "allowed_origins": "https://a.example, *"}, "ALLOWED_ORIGINS"),
        ({"api_keys": _HASH, "allowed_origins": "https://a.example"}, "HELIUS_API_KEY"),
    ],
)
def test_production_names_the_unsafe_variable(overrides: dict[str, str], variable: str) -> None:
    settings = Settings(_env_file=None, env="production", **overrides)  # type: ignore[arg-type]
    unsafe = settings.unsafe_setting()
    assert unsafe is not None and unsafe[0] == variable


def test_safe_production_settings_pass(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text("# ops keys\nsha256:" + "0" * 64 + "\n")
    settings = Settings(
        _env_file=None,
        env="production",
        api_keys_file=keys,
        allowed_origins="https://app.example",
        helius_api_key="real-key",  # type: ignore[arg-type]
    )
    assert settings.unsafe_setting() is None


_PRODUCTION = {"ENV": "production", "HELIUS_API_KEY": "k", "ALLOWED_ORIGINS": "https://a.example"}


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        pytest.param(_PRODUCTION, "API_KEYS", id="no key store"),
        pytest.param(_PRODUCTION | {"API_KEYS_FILE": "/nonexistent/api-keys"}, "API_KEYS_FILE", id="missing key file"),
        pytest.param(
            _PRODUCTION | {"API_KEYS": _HASH, "ALLOWED_ORIGINS": "*"}, "ALLOWED_ORIGINS", id="wildcard origin"
        ),
        pytest.param(_PRODUCTION | {"API_KEYS": _HASH, "HELIUS_API_KEY": ""}, "HELIUS_API_KEY", id="no Helius key"),
        pytest.param({"API_KEYS": "wd_" + "r" * 32}, "API_KEYS", id="raw key in development"),
        pytest.param({"PORT": "eighty"}, "PORT", id="bad port"),
        pytest.param({"LOG_LEVEL": "chatty"}, "LOG_LEVEL", id="bad log level"),
        pytest.param({"ENV": "prod"}, "ENV", id="bad environment"),
    ],
)
def test_serve_refuses_to_start_with_one_line_naming_the_variable(
    env: dict[str, str], variable: str, tmp_path: Path
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "walletdoctor", "serve", "--host", "127.0.0.1"],
        env=clean_environment(**({"PORT": str(free_port())} | env)),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0], result.stderr
    assert "wd_" not in lines[0], "a raw key is named by position, never echoed"


def test_shutdown_grace_defaults_to_25_s_of_which_streams_get_20() -> None:
    settings = Settings(_env_file=None)
    assert settings.shutdown_grace_s == 25 and settings.shutdown_drain_s == 20
    short = Settings(_env_file=None, shutdown_grace_s=5)
    assert short.shutdown_drain_s == 4


def test_log_level_is_case_insensitive_and_checked() -> None:
    assert Settings(_env_file=None, log_level="debug").log_level == "DEBUG"  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Settings(_env_file=None, log_level="verbose")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("where", "variable", "reason"),
    [("setting", "API_KEYS", "entry 2 of API_KEYS"), ("file", "API_KEYS_FILE", "line 2 of")],
)
def test_a_raw_key_in_the_key_store_is_refused_in_development_too(
    where: str, variable: str, reason: str, tmp_path: Path
) -> None:
    raw = "wd_" + "x" * 32
    keys = tmp_path / "keys"
    keys.write_text(f"{_HASH}\n{raw}\n")
    settings = (
        Settings(_env_file=None, api_keys=f"{_HASH},{raw}")
        if where == "setting"
        else Settings(_env_file=None, api_keys_file=keys)
    )
    unsafe = settings.unsafe_setting()
    assert unsafe is not None and unsafe[0] == variable and reason in unsafe[1]
    assert raw not in unsafe[1]


def test_production_with_a_key_file_of_comments_only_is_refused(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text("# no keys yet\n\n")
    settings = Settings(
        _env_file=None,
        env="production",
        api_keys_file=keys,
        allowed_origins="https://app.example",
        helius_api_key="real-key",  # type: ignore[arg-type]
    )
    assert settings.unsafe_setting() == ("API_KEYS_FILE", f"production requires API keys; {keys} holds none")


# --- config/walletdoctor.env.example ---------------------------------------------

EXAMPLE = Path(__file__).resolve().parents[1] / "config" / "walletdoctor.env.example"
_ASSIGNMENT = re.compile(r"^(# )?([A-Z][A-Z0-9_]*)=(\S*)$")


def _example() -> tuple[dict[str, str], dict[str, str]]:
    """(set, commented) assignments of the example file."""
    active: dict[str, str] = {}
    commented: dict[str, str] = {}
    for line in EXAMPLE.read_text().splitlines():
        if match := _ASSIGNMENT.match(line):
            (commented if match.group(1) else active)[match.group(2)] = match.group(3)
    return active, commented


def _documented_name(name: str) -> str:
    alias = Settings.model_fields[name].validation_alias
    choices = getattr(alias, "choices", None)
    return str(choices[0]) if choices else name.upper()


def test_the_example_env_file_documents_every_setting_once() -> None:
    active, commented = _example()
    assert not set(active) & set(commented)
    assert set(active) | set(commented) == {_documented_name(n) for n in Settings.model_fields}


def test_the_commented_values_of_the_example_are_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in SETTINGS_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    defaults = Settings(_env_file=None)
    by_variable = {_documented_name(n): n for n in Settings.model_fields}
    for variable, value in _example()[1].items():
        field = by_variable[variable]
        if value == "":
            assert getattr(defaults, field) in (None, ""), variable
            continue
        monkeypatch.setenv(variable, value)
        assert getattr(Settings(_env_file=None), field) == getattr(defaults, field), variable
        monkeypatch.delenv(variable)


def test_the_example_is_a_production_config_that_starts_once_its_key_file_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in SETTINGS_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    settings = Settings(_env_file=EXAMPLE)
    assert settings.production and settings.redis_url is not None
    assert settings.unsafe_setting() == ("API_KEYS_FILE", "no such key file: /etc/walletdoctor/api-keys")
    keys = tmp_path / "api-keys"
    keys.write_text(create_key()[1] + "\n")
    monkeypatch.setenv("API_KEYS_FILE", str(keys))
    assert Settings(_env_file=EXAMPLE).unsafe_setting() is None
