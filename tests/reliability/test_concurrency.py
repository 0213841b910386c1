"""Concurrency: the same ingest launched twice at once, and two refresh runs back to back
(as the nightly schedule and the landing sensor would start them). Readers of the BI snapshot
during publishes are covered by tests/test_publish.py and, during a killed publish, by
test_faults.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import duckdb
import pytest
from dagster import DagsterInstance

from pipeline.demo import write_demo_data
from tests.reliability.conftest import (
    BASE_FILE,
    PROJECT,
    assert_raw_invariants,
    assert_staging_accounts,
    rows,
    warehouse,
    write_base,
)
from tests.reliability.test_bad_inputs import CORPUS


def test_the_same_ingest_launched_twice_at_once(tmp_path, workers):
    """Two processes ingest the same landing folder into the same (not yet existing)
    warehouse at the same moment: one waits for the other's lock, then finds every file
    already loaded. No row and no ledger entry is duplicated."""
    landing = tmp_path / "landing"
    write_demo_data(landing_dir=landing, truth_dir=tmp_path / "demo", n_rows=150_000, seed=5)
    write_base(landing)
    shutil.copyfile(CORPUS / "several_sheets.xlsx", landing / "several_sheets.xlsx")
    database = tmp_path / "warehouse.duckdb"
    go = tmp_path / "go"
    first = workers("ingest", str(database), str(landing), "--go", str(go))
    second = workers("ingest", str(database), str(landing), "--go", str(go))
    first.expect("READY", timeout=60)
    second.expect("READY", timeout=60)
    go.touch()
    reports = [json.loads(w.finish(timeout=180).split(" ", 1)[1]) for w in (first, second)]

    files = sorted(reports[0])
    assert files == sorted(reports[1]) == sorted(p.name for p in landing.iterdir() if p.is_file())
    for name in files:
        statuses = sorted(report[name][0] for report in reports)
        assert statuses == ["loaded", "unchanged"], (name, reports)
    waited = first if all(s == "unchanged" for s, _ in reports[0].values()) else second
    assert "is locked by process" in waited.stderr, waited.stderr[-2000:]
    with duckdb.connect(str(database), read_only=True) as connection:
        assert_raw_invariants(connection)
        loaded = sum(n for report in reports for _, n in report.values())
        assert rows(connection, "SELECT count(*) FROM raw.transactions") == [(loaded,)]
        assert rows(
            connection, "SELECT count(*), count(DISTINCT file_path) FROM raw.file_ledger"
        ) == [(len(files), len(files))]


def _table_counts(path) -> dict[str, int]:
    with duckdb.connect(str(path), read_only=True) as connection:
        tables = rows(
            connection,
            "SELECT schema_name || '.' || table_name FROM duckdb_tables() "
            "WHERE NOT temporary ORDER BY 1",
        )
        return {t: rows(connection, f"SELECT count(*) FROM {t}")[0][0] for (t,) in tables}


RUN_LAYERS = {"raw", "staging", "features", "bi"}
RUN_TABLES = {"marts/monthly_revenue"}
# Tables that grow with every run by design (one row per run or per scoring), if they exist.
APPEND_ONLY = {"marts.prediction_log"}


@pytest.mark.slow
def test_two_refresh_runs_back_to_back_duplicate_nothing(data_dir, monkeypatch):
    from orchestration.definitions import defs

    monkeypatch.setenv("FRESHNESS_REFERENCE_DATE", "2011-12-10")
    write_demo_data(
        landing_dir=data_dir / "landing", truth_dir=data_dir / "demo", n_rows=20_000, seed=7
    )
    write_base(data_dir / "landing")
    job = defs.resolve_job_def("refresh")
    # The layers this suite covers (models are tested by their own suite, and take minutes).
    selection = [
        key
        for key in defs.resolve_asset_graph().get_all_asset_keys()
        if key.path[0] in RUN_LAYERS or key.to_user_string() in RUN_TABLES
    ]
    counts = []
    with DagsterInstance.ephemeral() as instance:
        for trigger in ("nightly_schedule", "landing_sensor"):
            result = job.execute_in_process(
                instance=instance,
                tags={"pipeline/trigger": trigger},
                asset_selection=selection,
                raise_on_error=False,
            )
            failures = [
                e.event_specific_data.error.message for e in result.all_events if e.is_step_failure
            ]
            assert result.success, failures
            counts.append(
                (
                    _table_counts(data_dir / "warehouse.duckdb"),
                    _table_counts(data_dir / "bi" / "customer_intel.duckdb"),
                )
            )
    (warehouse_1, snapshot_1), (warehouse_2, snapshot_2) = counts
    for table in set(warehouse_1) | set(warehouse_2):
        if table not in APPEND_ONLY:
            assert warehouse_1.get(table) == warehouse_2.get(table), table
    assert snapshot_1["features.customer_rfm"] > 0 and snapshot_1["marts.monthly_revenue"] > 0
    snapshot_1.pop("main.snapshot_info", None)
    snapshot_2.pop("main.snapshot_info", None)
    assert {t: n for t, n in snapshot_1.items() if t not in APPEND_ONLY} == {
        t: n for t, n in snapshot_2.items() if t not in APPEND_ONLY
    }
    with warehouse(data_dir / "warehouse.duckdb").reader() as connection:
        assert_raw_invariants(connection)
        assert_staging_accounts(connection)
        assert rows(connection, "SELECT file_path, status FROM raw.file_ledger ORDER BY 1") == [
            (BASE_FILE, "loaded"),
            ("online_retail_demo.csv", "loaded"),
        ]


def test_commands_started_together_on_a_new_dagster_home_all_set_it_up(tmp_path):
    """Each would create the instance's SQLite tables; without the set-up lock one fails
    with "table instance_info already exists"."""
    home = tmp_path / "dagster_home"
    code = (
        "from dagster import DagsterInstance\n"
        "from orchestration.cli import ensure_dagster_home\n"
        "ensure_dagster_home()\n"
        "DagsterInstance.get().dispose()  # as run_refresh opens it\n"
    )
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", code],
            env=env,
            cwd=PROJECT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outcomes = [(p.wait(timeout=120), p.stderr.read()[-2000:]) for p in processes]
    assert all(code == 0 for code, _ in outcomes), outcomes
    assert (home / "dagster.yaml").resolve() == PROJECT / "dagster.yaml"
    with DagsterInstance.from_config(str(home)) as instance:
        assert instance.get_runs() == []
