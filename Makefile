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
	rm -rf out/demo
	$(BIN)/thrv ingest data/sample --db $(DB)
	$(BIN)/thrv simulate --out out/demo/generated --months 24 --end 2025-12 --seed 1
	$(BIN)/thrv ingest out/demo/generated --db $(DB)
	$(BIN)/thrv status --db $(DB)
	$(BIN)/thrv pack --db $(DB) --month 2025-12 --out out/demo/pack --format html,pdf,xlsx
	$(BIN)/thrv pack --db $(DB) --month 2025-12 --out out/demo/pack-public --public --levels force,area,district
	$(BIN)/thrv assess --db $(DB) --from 2024-01 --to 2025-12 --out out/demo/assessment --format html,pdf,xlsx
	$(BIN)/thrv demand --db $(DB) --out out/demo/demand
	$(BIN)/thrv forecast --db $(DB) --horizon 12 --fast --out out/demo/forecast
	$(BIN)/thrv simulate --measures --out out/demo/measures --months 36 --end 2025-12 --seed 1
	$(BIN)/thrv ingest out/demo/measures/measures.csv --db $(DB)
	$(BIN)/thrv plan --plan examples/plan/police-and-crime-plan.toml --db $(DB) --month 2025-12 --out out/demo/plan --format html,xlsx
	$(BIN)/thrv report --plan examples/plan/police-and-crime-plan.toml --theme all --db $(DB) --month 2025-12 --out out/demo/plan --format html,pdf,xlsx
	@echo "done: open out/demo/pack/pack.html, out/demo/assessment/assessment.html"

test: $(STAMP) system
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/national.py
	$(BIN)/python benchmarks/dashboard.py

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
