"""End to end through Dagster: generated demo data -> every table, check and export.

The refresh job runs twice on the same data (as the nightly schedule and the landing
sensor would), once for the test session (the `refreshed` fixture in conftest.py), and the
tests read what it left behind.
"""

from __future__ import annotations

import shutil

import duckdb
import pandas as pd
import pytest
from dagster import AssetKey, DagsterInstance

from orchestration.definitions import defs
from pipeline.catalog import TABLES
from pipeline.demo import write_demo_data
from pipeline.table_fingerprints import fingerprint_tables
from tests.conftest import DEMO_ENVIRONMENT, run_refresh, write_csv

pytestmark = pytest.mark.slow


def check_results(result) -> dict[str, bool]:
    return {
        f"{event.asset_check_evaluation_data.asset_key.to_user_string()}:"
        f"{event.asset_check_evaluation_data.check_name}": (
            event.asset_check_evaluation_data.passed
        )
        for event in result.all_events
        if event.event_type_value == "ASSET_CHECK_EVALUATION"
    }


def materialization_metadata(result, asset: str) -> dict:
    return next(
        event.step_materialization_data.materialization.metadata
        for event in result.all_events
        if event.event_type_value == "ASSET_MATERIALIZATION"
        and event.asset_key.to_user_string() == asset
    )


@pytest.fixture(scope="module")
def warehouse(refreshed):
    data_dir, _, _ = refreshed
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as connection:
        yield connection


def test_both_runs_succeed_with_every_check_passing(refreshed):
    _, first, second = refreshed
    assert first.success and second.success
    checks = check_results(first)
    assert len(checks) >= 25
    assert all(checks.values()), {name: ok for name, ok in checks.items() if not ok}
    # The second run trains on the same data: equal challengers must not replace champions.
    second_checks = check_results(second)
    failed = {name for name, ok in second_checks.items() if not ok}
    assert failed <= {name for name in second_checks if name.endswith("challenger_beats_champion")}


HISTORY_TABLES = (
    "history.customer_snapshots",
    "marts.segment_transitions",
    "marts.customer_movements",
)


def test_every_asset_table_exists_and_is_filled(refreshed, warehouse):
    tables = {
        f"{schema}.{name}"
        for schema, name in warehouse.execute(
            "SELECT schema_name, table_name FROM duckdb_tables()"
        ).fetchall()
    }
    assets = {".".join(key.path) for key in defs.resolve_all_asset_keys()}
    for table in sorted(assets & set(TABLES)):
        if table.startswith(("bi.", "exports.")) or table == "marts.prediction_log":
            continue
        assert table in tables, table
        (rows,) = warehouse.execute(f"SELECT count(*) FROM {table}").fetchall()[0]
        # The history is filled by its own job (a snapshot date is a partition), so after
        # a refresh it and the migration marts exist, empty (tests/test_history.py).
        if table not in {"raw.quarantine", *HISTORY_TABLES}:
            assert rows > 0, f"{table} is empty"


def test_row_accounting_holds(warehouse):
    raw = warehouse.execute("SELECT count(*) FROM raw.transactions").fetchall()[0][0]
    split = warehouse.execute(
        "SELECT (SELECT count(*) FROM staging.transactions),"
        " (SELECT count(*) FROM staging.returns),"
        " (SELECT count(*) FROM staging.excluded)"
    ).fetchall()[0]
    rules = dict(
        warehouse.execute("SELECT rule, count(*) FROM staging.excluded GROUP BY 1").fetchall()
    )
    assert raw == sum(split)
    assert split[0] > 0.6 * raw and split[1] > 0
    assert {"missing_customer", "non_product_code", "duplicate_line"} <= set(rules)


def test_second_run_loads_nothing_new_and_duplicates_nothing(refreshed, warehouse):
    _, first, second = refreshed
    metadata = materialization_metadata(second, "raw/transactions")
    assert metadata["files_unchanged"].value == 1
    assert metadata["rows_loaded_this_run"].value == 0
    first_rows = materialization_metadata(first, "staging/transactions")["dagster/row_count"].value
    assert warehouse.execute("SELECT count(*) FROM staging.transactions").fetchall()[0][0] == (
        first_rows
    )
    assert warehouse.execute(
        "SELECT count(*) FROM raw.file_ledger WHERE status = 'loaded'"
    ).fetchall() == [(1,)]


def test_customer_marts_cover_every_customer_with_an_action(warehouse):
    customers = warehouse.execute("SELECT count(*) FROM features.customer_rfm").fetchall()[0][0]
    segments = warehouse.execute(
        "SELECT count(*), count(DISTINCT customer_id), count(action), count(value_segment), "
        "count(churn_risk_pct), count(purchase_probability) FROM marts.customer_segments"
    ).fetchall()[0]
    assert segments == (customers,) * 6
    planned = warehouse.execute("SELECT sum(customers) FROM marts.action_plan").fetchall()[0][0]
    assert planned == customers
    shares = warehouse.execute(
        "SELECT segment_type, sum(revenue_share), sum(customers) FROM marts.segment_summary "
        "GROUP BY 1"
    ).fetchall()
    assert {t for t, _, _ in shares} >= {"rfm_segment", "value_segment", "persona", "action"}
    assert all(abs(share - 1) < 0.01 and n == customers for _, share, n in shares)


def test_tables_carry_comments_for_bi_tools(warehouse):
    comment = warehouse.execute(
        "SELECT comment FROM duckdb_columns() WHERE schema_name = 'marts' "
        "AND table_name = 'customer_segments' AND column_name = 'churn_risk_pct'"
    ).fetchall()
    assert comment == [("Churn risk, percent.",)]


def test_exports_and_bi_snapshot_hold_the_marts(refreshed, warehouse):
    data_dir, _, _ = refreshed
    latest = data_dir / "exports" / "latest"
    assert (latest / "all_customers.csv").exists() and (latest / "all_customers.parquet").exists()
    customers = warehouse.execute("SELECT count(*) FROM marts.customer_segments").fetchall()[0][0]
    exported = duckdb.sql(f"SELECT count(*) FROM '{latest / 'all_customers.parquet'}'").fetchall()
    assert exported == [(customers,)]
    with duckdb.connect(str(data_dir / "bi" / "customer_intel.duckdb"), read_only=True) as bi:
        listed = dict(bi.execute("SELECT table_name, row_count FROM snapshot_info").fetchall())
        assert listed["marts.customer_segments"] == customers
        assert "raw.transactions" not in listed


def test_a_rejected_file_fails_the_ingest_and_keeps_loaded_rows(data_dir):
    write_demo_data(data_dir / "landing", data_dir / "demo", n_rows=5_000, seed=11)
    raw_only = [AssetKey(["raw", name]) for name in ("transactions", "quarantine", "file_ledger")]
    assert run_refresh(raw_only).success
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        before = con.execute("SELECT count(*) FROM raw.transactions").fetchall()
    write_csv(data_dir / "landing" / "broken.csv", ["1,2"], header="InvoiceNo,Quantity")
    result = run_refresh(raw_only)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "broken.csv: missing required column(s): customer_id" in (
        failure.event_specific_data.error.message
    )
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM raw.transactions").fetchall() == before


COMPARED_TABLES = (
    "features.customer_rfm",
    "segments.customer_value",
    "scores.churn",
    "scores.propensity",
    "scores.product_propensity",
    "marts.customer_segments",
    "marts.action_plan",
)


def table_fingerprints(path) -> dict[str, tuple]:
    """Rows and an order-insensitive hash of every column, per table."""
    with duckdb.connect(str(path), read_only=True) as connection:
        return {
            table: connection.execute(
                f"SELECT count(*), bit_xor(hash(COLUMNS(*))) FROM {table}"
            ).fetchone()
            for table in COMPARED_TABLES
        }


def test_the_nightly_job_rebuilds_the_same_tables_without_training(
    refreshed, monkeypatch, tmp_path
):
    # A copy: this module's `warehouse` fixture keeps the refreshed file open read-only.
    data_dir = tmp_path / "data"
    shutil.copytree(refreshed[0], data_dir, symlinks=True)
    monkeypatch.setenv("DATA_DIR", str(data_dir))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)  # the copy's own store
    for name, value in DEMO_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    before = table_fingerprints(data_dir / "warehouse.duckdb")
    with DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("nightly").execute_in_process(
            instance=instance, raise_on_error=False
        )
    assert result.success
    steps = {e.step_key for e in result.all_events if e.event_type_value == "STEP_SUCCESS"}
    assert "train_models" not in steps and {"score_churn", "score_propensity"} <= steps
    decay = {
        (e.asset_key.to_user_string(), e.check_name): e
        for e in result.get_asset_check_evaluations()
    }
    propensity = decay[("models/purchase_propensity", "champion_not_decayed")]
    assert "latest complete horizon" in propensity.metadata["reason"].value
    # The segment champions label the same customers as at their fit: no drift.
    for model in ("customer_value_segments", "purchase_style_segments", "customer_personas"):
        drift = decay[(f"models/{model}", "champion_not_decayed")]
        assert drift.passed and drift.metadata["distance"].value == 0.0, model
    style = decay[("models/purchase_style_segments", "champion_not_decayed")].metadata
    assert style["assessed_share_now"].value == style["assessed_share_at_fit"].value > 0
    # Same data, same champions: every table as the full refresh left it.
    assert table_fingerprints(data_dir / "warehouse.duckdb") == before


STAGING_TABLES = ("staging.transactions", "staging.returns", "staging.excluded")
DERIVED_SCHEMAS = ("staging", "features", "segments", "scores", "marts")


def nightly(data_dir, monkeypatch):
    monkeypatch.setenv("DATA_DIR", str(data_dir))
    with DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("nightly").execute_in_process(
            instance=instance, raise_on_error=False
        )
    assert result.success
    return materialization_metadata(result, "staging/transactions")["cleaning"].value


def demo_copies_excluded(data_dir) -> int:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as connection:
        return connection.execute(
            "SELECT count(*) FROM staging.excluded WHERE rule = 'duplicate_line' "
            "AND source_file = 'online_retail_demo.csv'"
        ).fetchone()[0]


def test_a_nightly_run_on_a_new_file_equals_one_that_cleans_everything_again(
    refreshed, monkeypatch, tmp_path
):
    """The nightly run cleans only the new file's rows; a copy of the same state made to
    rebuild staging in full (no record of the previous build) ends with the same tables."""
    incremental, full = tmp_path / "incremental" / "data", tmp_path / "full" / "data"
    shutil.copytree(refreshed[0], incremental, symlinks=True)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)  # each copy's own store
    for name, value in DEMO_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    landing = incremental / "landing"
    with duckdb.connect() as connection:
        lines = connection.execute(
            f"SELECT * FROM read_csv('{landing / 'online_retail_demo.csv'}', all_varchar=true)"
        ).df()
    # A file sorting before the demo's: copies of its first lines (they become the first
    # copies, the kept ones move to the excluded rows), and a day of new orders after the
    # history for customers already there.
    copies = lines.head(40)
    new_day = lines.tail(300).copy()
    new_day["InvoiceNo"] = "9" + new_day["InvoiceNo"].str.lstrip("C")
    new_day["InvoiceDate"] = "12/10/2011 10:" + (new_day.index % 60).astype(str).str.zfill(2)
    new_day.loc[new_day.index[::25], "CustomerID"] = ""  # guests: excluded
    pd.concat([copies, new_day]).to_csv(landing / "a_new_orders.csv", index=False)

    shutil.copytree(incremental, full, symlinks=True)
    with duckdb.connect(str(full / "warehouse.duckdb")) as connection:
        connection.execute("DELETE FROM staging.cleaning_state")

    copies_before = demo_copies_excluded(incremental)
    assert nightly(incremental, monkeypatch).startswith("incremental (1 new file, 340 rows)")
    assert nightly(full, monkeypatch) == "full (no record of the previous build)"
    # The demo file's first copies of the lines the new file repeats are duplicates now.
    assert demo_copies_excluded(incremental) > copies_before
    fingerprints = []
    for path in (incremental, full):
        with duckdb.connect(str(path / "warehouse.duckdb"), read_only=True) as connection:
            tables = fingerprint_tables(connection, schemas=DERIVED_SCHEMAS)
        del tables["staging.cleaning_state"]  # when and how each was built
        # Not derived from staging: each run logs its own predictions for the files waiting
        # in landing/new_customers (other tests leave some), each with a new prediction id.
        del tables["marts.prediction_log"]
        fingerprints.append(tables)
    assert set(STAGING_TABLES) <= set(fingerprints[0])
    assert fingerprints[0] == fingerprints[1]
