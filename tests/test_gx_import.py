"""GX imported without pyspark in a process that has not imported it, with it otherwise; the
checks' suites and validation work either way, and pyspark stays importable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import json, sys
import duckdb
if sys.argv[1] == "spark first":
    import pyspark
from pipeline import quality
suite = quality.suite_for("features.product_categories")
from pipeline.catalog.ddl import create_tables_sql
connection = duckdb.connect()
connection.execute(create_tables_sql("features.product_categories"))
report = quality.validate_table(connection, "features.product_categories", suite, results_dir=None)
engines = sorted({outcome.engine for outcome in report.outcomes})
from great_expectations.compatibility import pyspark as gx_spark
seen_by_gx = not type(gx_spark.pyspark).__name__ == "NotImported"
pyspark_loaded = "pyspark" in sys.modules
import pyspark  # importable whatever GX saw
print(json.dumps({"results": len(report.outcomes), "engines": engines,
                  "gx_sees_spark": seen_by_gx, "pyspark_loaded": pyspark_loaded,
                  "pyspark": pyspark.__version__}))
"""


def _run(mode: str) -> dict:
    completed = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_gx_runs_the_checks_without_importing_pyspark():
    found = _run("gx first")
    assert not found["pyspark_loaded"] and not found["gx_sees_spark"]
    assert found["results"] > 0 and "gx-pandas" in found["engines"]
    assert found["pyspark"]


def test_gx_uses_pyspark_when_the_process_already_imported_it():
    found = _run("spark first")
    assert found["pyspark_loaded"] and found["gx_sees_spark"]
    assert found["results"] > 0 and "gx-pandas" in found["engines"]
