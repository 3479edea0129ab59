# thrv: two commands on a fresh machine (Python 3.11, pip, make):
#   make demo   set up, then build the analysis of the bundled real data into out/demo/
#   make test   set up, then run the test suite
# Everything installs into ./.venv; system libraries (PDF rendering, headless Chromium for
# the browser tests) are installed with apt-get when missing.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DB := out/demo/thrv.duckdb
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench system clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

system:
	sh scripts/setup-system.sh

demo: $(STAMP) system
	rm -f $(DB) $(DB).wal
	$(BIN)/thrv ingest data/sample --db $(DB)
	$(BIN)/thrv status --db $(DB)

test: $(STAMP) system
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/ingest.py

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
