# The two commands of the README: `make serve` and `make test`.
# Both create a virtualenv in .venv (override with VENV=...) and install into it.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: serve test install install-test redis-server

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'

serve: install
	$(BIN)/walletdoctor serve

# The tests start their own redis-server; install Debian's where it is missing.
redis-server:
	@command -v redis-server >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }

test: install-test redis-server
	$(BIN)/python -m pytest
