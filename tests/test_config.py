"""Settings: defaults, environment names, and production's refusal of unsafe settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from walletdoctor.config import Settings


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
        ({"api_keys": "sha256:" + "0" * 64, "allowed_origins": "https://a.example, *"}, "ALLOWED_ORIGINS"),
        ({"api_keys": "sha256:" + "0" * 64, "allowed_origins": "https://a.example"}, "HELIUS_API_KEY"),
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


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"ENV": "production", "HELIUS_API_KEY": "k", "ALLOWED_ORIGINS": "https://a.example"}, "API_KEYS"),
        (
            {"ENV": "production", "HELIUS_API_KEY": "k", "API_KEYS": "sha256:" + "0" * 64, "ALLOWED_ORIGINS": "*"},
            "ALLOWED_ORIGINS",
        ),
    ],
)
def test_serve_refuses_to_start_with_one_line_naming_the_variable(env: dict[str, str], variable: str) -> None:
    clean = {k: v for k, v in os.environ.items() if k not in ("API_KEYS", "API_KEYS_FILE", "ALLOWED_ORIGINS")}
    result = subprocess.run(
        [sys.executable, "-m", "walletdoctor", "serve", "--port", "1"],
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0], result.stderr
