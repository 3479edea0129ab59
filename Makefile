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
	$(BIN)/thrv pack --db $(DB) --month 2025-12 --out out/demo/pack-public --public --format html,pdf,xlsx
	$(BIN)/thrv demand --db $(DB) --out out/demo/demand
	$(BIN)/thrv forecast --db $(DB) --horizon 12 --fast --out out/demo/forecast
	$(BIN)/thrv simulate --measures --out out/demo/measures --months 36 --end 2025-12 --seed 1
	$(BIN)/thrv ingest out/demo/measures/measures.csv --db $(DB)
	$(BIN)/thrv plan --plan examples/plan/police-and-crime-plan.toml --db $(DB) --month 2025-12 --out out/demo/plan --format html,xlsx
	$(BIN)/thrv report --plan examples/plan/police-and-crime-plan.toml --theme all --db $(DB) --month 2025-12 --out out/demo/plan --format html,pdf,xlsx
	# partner data: real area measures for the same places, generated person records, linkage
	$(BIN)/thrv ingest data/partner-sample/fms_lsoa_month_asb_categories_cambridgeshire.csv.gz --db $(DB) --partner fixmystreet --mapping data/partner-sample/mapping.toml
	$(BIN)/thrv ingest data/partner-sample/defra_flytipping_incidents_cambridgeshire.csv --db $(DB) --partner council --mapping data/partner-sample/mapping.toml
	$(BIN)/thrv ingest data/partner-sample/fingertips_alcohol_related_admissions_cambridgeshire.csv data/partner-sample/fingertips_admissions_self_harm_cambridgeshire.csv data/partner-sample/fingertips_children_in_care_cambridgeshire.csv --db $(DB) --partner health --mapping data/partner-sample/mapping.toml
	$(BIN)/thrv ingest data/partner-sample/dwelling_fires_msoa_cambridgeshire.csv --db $(DB) --partner fire --mapping data/partner-sample/mapping.toml
	$(BIN)/thrv assess --db $(DB) --from 2024-01 --to 2025-12 --out out/demo/assessment --format html,pdf,xlsx
	$(BIN)/thrv simulate-people --out out/demo/people --people 3000 --seed 1
	cp data/partner-sample/sharing.toml $(DB).sharing.toml
	for p in police council health; do $(BIN)/thrv ingest out/demo/people/$$p.csv --db $(DB) --partner $$p || exit 1; done
	$(BIN)/thrv link --db $(DB) --out out/demo/link
	@echo "done: open out/demo/pack/pack.html, out/demo/assessment/assessment.html, out/demo/link/link.html"

test: $(STAMP) system
	$(BIN)/pytest -q -n auto --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/national.py
	$(BIN)/python benchmarks/dashboard.py
	$(BIN)/python benchmarks/linkage.py

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
