# The two commands of the README: `make serve` and `make test`. Both work on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Debian packages the suite drives: the browser tests' chromium, cairo for the coupon SVG
# tests, nginx for the shipped load balancer configuration (deploy/nginx), openssl for its
# test certificate; for the several-hosts test (tests/deploy/test_several_hosts.py) a Redis
# of its own and nftables (PostgreSQL forwarded into the hosts' network namespaces).
SYSTEM_PACKAGES := chromium fonts-liberation libcairo2 nginx-light openssl redis-server nftables

.PHONY: serve test lint install system-deps bench clean

# The dev extra: the test and bench extras and the linters (pyproject.toml).
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

serve: $(STAMP)
	$(BIN)/richsms db upgrade
	$(BIN)/richsms demo --if-empty
	$(BIN)/richsms serve --host 127.0.0.1 --port 8000

# Debian packages the test suite drives for real (browser, load tools); root installs them.
system-deps:
	@scripts/system-deps.sh $(SYSTEM_PACKAGES)

test: $(STAMP) system-deps
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) richsms.db richsms.db-wal richsms.db-shm
