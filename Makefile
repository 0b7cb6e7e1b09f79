# Two commands do everything on a fresh machine:  `make demo`  and  `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
BIN     = $(VENV)/bin
export DAGSTER_HOME ?= $(CURDIR)/dagster_home

.PHONY: install demo test lint ui bench clean

$(BIN)/kotacerdas: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

install: $(BIN)/kotacerdas

demo: install            ## run the whole pipeline on the OPD simulator into data/warehouse.duckdb
	$(BIN)/kotacerdas demo

test: install lint       ## lint, then every test (PostgreSQL must be up on 127.0.0.1:5432)
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .

ui: install              ## the Dagster UI on http://127.0.0.1:3000
	$(BIN)/kotacerdas ui

bench: install          ## benchmarks (figures, not tests): index engine, publishing, validation, a backfill
	$(BIN)/python bench/index_bench.py
	$(BIN)/python bench/publish_bench.py
	$(BIN)/python bench/quality_bench.py
	$(BIN)/python bench/backfill_bench.py

clean:
	rm -rf data dagster_home/storage dagster_home/history dagster_home/schedules dagster_home/logs
