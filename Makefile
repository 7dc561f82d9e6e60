# The two commands of the README: `make serve` and `make test`.
# Both create a virtualenv in .venv (override with VENV=...) and install into it.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: serve test install install-test redis-server promtool browser nginx

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

# The live page's tests drive Debian's headless Chromium through its chromedriver,
# and the probe's tests start their own nginx: install them where they are missing.
browser:
	@test -x /usr/bin/chromium && test -x /usr/bin/chromedriver || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }

nginx:
	@test -x /usr/sbin/nginx || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; }

# The config tests check config/ with Prometheus' own promtool. Where it is
# missing, take just that binary out of Debian's prometheus package into the
# virtualenv (a 19 MB download; no service is installed or started).
promtool: $(BIN)/python
	@command -v promtool >/dev/null || test -x $(BIN)/promtool || { \
	  tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && cd "$$tmp" && \
	  { apt-get download -qq prometheus 2>/dev/null || { apt-get update -qq && apt-get download -qq prometheus; }; } && \
	  dpkg-deb --fsys-tarfile prometheus_*.deb | tar -xO ./usr/bin/promtool > "$(abspath $(BIN))/promtool.part" && \
	  chmod +x "$(abspath $(BIN))/promtool.part" && mv "$(abspath $(BIN))/promtool.part" "$(abspath $(BIN))/promtool"; }

test: install-test redis-server promtool browser nginx
	$(BIN)/python -m pytest
