# Entry points. `make demo` and `make test` work on a fresh clone (Python 3.11 required).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
export DATA_DIR ?= $(CURDIR)/data
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: install demo refresh dev test lint browser bench

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

demo: install          ## generate demo data (if landing is empty) and refresh every table
	$(BIN)/customer-intel demo

refresh: install       ## refresh every table from the files in DATA_DIR/landing
	$(BIN)/customer-intel refresh

dev: install           ## Dagster UI and daemon on http://127.0.0.1:3000
	$(BIN)/customer-intel dev

# A Dagster instance needs DAGSTER_HOME to exist; link this repository's dagster.yaml into it.
$(DAGSTER_HOME)/dagster.yaml:
	mkdir -p $(DAGSTER_HOME)
	ln -sf $(CURDIR)/dagster.yaml $@

lint: install $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/dagster definitions validate -w workspace.yaml

# Browser tests drive the system Chromium (Playwright's own download cannot be used here).
browser:
	@command -v chromium >/dev/null || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

test: lint browser     ## linters, definitions validation, and the test suite
	$(BIN)/pytest

# Benchmarks (see benchmarks/README.md); the figures go to stdout. Generated inputs are cached
# in BENCH_DATA_DIR (default /tmp/ci-bench; 10M rows of CSV take ~0.9 GB of disk).
.PHONY: bench bench-scale
bench: install         ## engine benchmark at 1M rows: project vs bare DuckDB vs pandas (minutes)
	$(BIN)/python benchmarks/engine.py --rows 1000000

bench-scale: install   ## the same at 1M and 10M rows, then where the project's time goes at 10M
	$(BIN)/python benchmarks/engine.py --rows 1000000 10000000
	$(BIN)/python benchmarks/engine_profile.py --rows 10000000
