# The two commands of the README: `make serve` and `make test`.
# Both create a virtualenv in .venv (override with VENV=...) and install into it.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: serve test install install-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'

serve: install
	$(BIN)/walletdoctor serve

test: install-test
	$(BIN)/python -m pytest
