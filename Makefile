# Two commands do everything on a fresh machine:  `make demo`  and  `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
BIN     = $(VENV)/bin
export DAGSTER_HOME ?= $(CURDIR)/dagster_home

.PHONY: install install-dev demo test lint format docs ui bench bench-national clean

$(BIN)/kotacerdas: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: $(BIN)/kotacerdas pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

install: $(BIN)/kotacerdas                 ## the project and what it needs to run (no test tools)

install-dev: $(VENV)/.dev-installed        ## plus the test tools, the docs builder and the Celery extra

demo: install            ## run the whole pipeline on the OPD simulator into data/warehouse.duckdb
	$(BIN)/kotacerdas demo

test: install-dev lint docs   ## lint, build the docs, then every test with coverage (see docs/contributors/tests.md)
	$(BIN)/pytest --numprocesses=auto --maxprocesses=4 --dist=loadfile --durations=15 --cov=kotacerdas --cov=assets --cov=sensors --cov=pipelines --cov-report=term:skip-covered

lint: install-dev        ## ruff's rules, ruff's format unchanged, and mypy on the library
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install-dev      ## rewrite the code as `make lint` wants it
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

docs: install-dev        ## the documentation site into data/site, strict: a broken link or missing page fails
	$(BIN)/mkdocs build --strict --quiet

ui: install              ## the Dagster UI on http://127.0.0.1:3000
	$(BIN)/kotacerdas ui

bench: install-dev       ## benchmarks (figures, not tests): index engine, publishing, validation, the workbook, a backfill
	$(BIN)/python bench/index_bench.py
	$(BIN)/python bench/publish_bench.py
	$(BIN)/python bench/quality_bench.py
	$(BIN)/python bench/export_bench.py
	$(BIN)/python bench/backfill_bench.py
	$(BIN)/python bench/national_bench.py --cities 10

CITIES ?= 1,10,100,514
bench-national: install-dev   ## N cities × one month: ours vs floor vs naive, stage by stage (CITIES=1,10,100,514)
	$(BIN)/python bench/national_bench.py --scaling $(CITIES) --variants ours,floor,naive --naive-max-cities 100 \
		--json data/bench/national.json
	$(BIN)/python bench/perf_markdown.py data/bench/national.json --readme README.md --details docs/operators/performance.md

clean:
	rm -rf data dagster_home/storage dagster_home/history dagster_home/schedules dagster_home/logs
