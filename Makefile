# Two commands for a newcomer: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' && echo $$p && break; done)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test lint bench bench-revenue bench-reconcile serve clean

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "q2c needs Python 3.11 or newer on PATH"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/q2c demo

test: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy --strict bench/time_sync.py bench/netsuite_account.py bench/bench_databases.py bench/reconcile.py bench/erp_account.py bench/outage_drain.py bench/soak.py
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/time_sync.py

bench-revenue: $(STAMP)
	$(BIN)/python bench/revenue.py

bench-reconcile: $(STAMP)
	$(BIN)/python bench/reconcile.py

serve: $(STAMP)
	$(BIN)/q2c serve

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
