# Entry points. `make demo` and `make test` work on a fresh clone (Python 3.11 required).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
export DATA_DIR ?= $(CURDIR)/data
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: install demo refresh nightly dev dashboard api test lint browser java bench

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

nightly: install       ## ingest and rebuild with the champion models (no training)
	$(BIN)/customer-intel nightly

dev: install           ## Dagster UI and daemon on http://127.0.0.1:3000
	$(BIN)/customer-intel dev

dashboard: install     ## the marketing dashboard on http://127.0.0.1:8501 (reads the BI snapshot)
	$(BIN)/streamlit run dashboard/app.py --server.address 127.0.0.1 --server.port 8501 \
	  --server.headless true --browser.gatherUsageStats false \
	  --server.maxUploadSize $${UPLOAD_MAX_MB:-200}

api: install            ## the HTTP API on http://127.0.0.1:8000 (docs at /docs; reads the BI snapshot)
	$(BIN)/customer-intel serve

# A Dagster instance needs DAGSTER_HOME to exist; link this repository's dagster.yaml into it.
$(DAGSTER_HOME)/dagster.yaml:
	mkdir -p $(DAGSTER_HOME)
	ln -sf $(CURDIR)/dagster.yaml $@

lint: install $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/dagster definitions validate -w workspace.yaml
	$(BIN)/dg check defs

# Browser tests drive the system Chromium (Playwright's own download cannot be used here).
browser:
	@command -v chromium >/dev/null || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# The Spark tests (marker `spark`) run Spark in local mode, which needs a Java runtime.
java:
	@command -v java >/dev/null || { \
	  echo "installing Debian's openjdk-17-jre-headless for the Spark tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless; }

test: lint browser java  ## linters, definitions validation, and the test suite
	$(BIN)/pytest

# Benchmarks (see benchmarks/README.md); the figures go to stdout. Generated inputs are cached
# in BENCH_DATA_DIR (default /tmp/ci-bench; 10M rows of CSV take ~0.9 GB of disk, 100M ~8.5 GB).
.PHONY: bench bench-scale bench-100m
bench: install         ## quick set at 1M rows: engine, refresh job, live scoring, model quality
	$(BIN)/python benchmarks/engine.py --rows 1000000
	$(BIN)/python benchmarks/refresh.py --rows 1000000
	$(BIN)/python benchmarks/live_scoring.py --rows 1000000
	$(BIN)/python benchmarks/model_quality.py --rows 1000000

bench-scale: install   ## engine at 1M and 10M rows, the 10M profile, refresh at 10M + a nightly run
	$(BIN)/python benchmarks/engine.py --rows 1000000 10000000
	$(BIN)/python benchmarks/engine_profile.py --rows 10000000
	$(BIN)/python benchmarks/refresh.py --rows 10000000 --incremental

# 100M rows are generated as 10 files of 10M rows (seeds 42-51): one generator run of 100M
# rows fails (pyarrow's 2 GiB limit of a string column; see benchmarks/RESULTS.md).
bench-100m: install    ## refresh job on 100M rows, DuckDB limited to 4GB (~8.5 GB CSV + warehouse)
	$(BIN)/python benchmarks/refresh.py --rows 100000000 --part-rows 10000000 \
	    --duckdb-memory-limit 4GB --timeout 3600
