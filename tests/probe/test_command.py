"""The ``probe`` subcommand's options and exit statuses (in process)."""

from __future__ import annotations

import pytest

from walletdoctor.cli import main


def test_a_malformed_header_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["probe", "http://127.0.0.1:9/s", "--header", "no colon here"])
    assert exit_info.value.code == 2
    assert "--header wants 'NAME: VALUE'" in capsys.readouterr().err


def test_a_url_that_is_not_http_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["probe", "localhost:8080/v4/wallet/x/stream"])
    assert exit_info.value.code == 2
    assert "not an http(s) URL" in capsys.readouterr().err


def test_help_names_the_exit_statuses(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["probe", "--help"])
    out = capsys.readouterr().out
    assert "Exit status 0 when the" in out and "--json FILE" in out and "--concurrency" in out
