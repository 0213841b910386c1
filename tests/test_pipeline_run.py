"""End to end through Dagster: generated demo data -> raw -> staging, with checks."""

from __future__ import annotations

import duckdb
import pytest
from dagster import DagsterInstance

from pipeline.definitions import defs
from pipeline.demo_data import write_demo_data
from tests.conftest import write_csv

pytestmark = pytest.mark.slow


def run_refresh(data_dir):
    """The refresh job as `customer-intel refresh` runs it; DATA_DIR points at data_dir."""
    job = defs.resolve_job_def("refresh")
    with DagsterInstance.ephemeral() as instance:
        return job.execute_in_process(instance=instance, raise_on_error=False)


@pytest.fixture
def demo_landing(data_dir, monkeypatch):
    # Demo data ends in December 2011: measure freshness against that, not today.
    monkeypatch.setenv("FRESHNESS_REFERENCE_DATE", "2011-12-10")
    write_demo_data(
        landing_dir=data_dir / "landing", truth_dir=data_dir / "demo", n_rows=20_000, seed=7
    )
    return data_dir


def check_results(result):
    return {
        event.asset_check_evaluation_data.check_name: event.asset_check_evaluation_data.passed
        for event in result.all_events
        if event.event_type_value == "ASSET_CHECK_EVALUATION"
    }


def test_refresh_materializes_raw_and_staging_and_checks_pass(demo_landing):
    result = run_refresh(demo_landing)
    assert result.success
    checks = check_results(result)
    assert {"row_accounting", "key_columns_not_null", "rows_traceable_to_source"} <= set(checks)
    assert {"gx_raw_transactions", "gx_staging_transactions"} <= set(checks)
    assert all(checks.values()), {name: ok for name, ok in checks.items() if not ok}
    with duckdb.connect(str(demo_landing / "warehouse.duckdb"), read_only=True) as con:
        raw = con.execute("SELECT count(*) FROM raw.transactions").fetchall()[0][0]
        split = con.execute(
            "SELECT (SELECT count(*) FROM staging.transactions),"
            " (SELECT count(*) FROM staging.returns),"
            " (SELECT count(*) FROM staging.excluded)"
        ).fetchall()[0]
        rules = dict(
            con.execute("SELECT rule, count(*) FROM staging.excluded GROUP BY 1").fetchall()
        )
    assert raw == sum(split)
    assert split[0] > 0.6 * raw and split[1] > 0
    assert {"missing_customer", "non_product_code", "duplicate_line"} <= set(rules)

    materializations = {
        event.asset_key.to_user_string(): event.step_materialization_data.materialization.metadata
        for event in result.all_events
        if event.event_type_value == "ASSET_MATERIALIZATION"
    }
    assert materializations["staging/transactions"]["dagster/row_count"].value == split[0]


def test_second_refresh_is_a_noop_for_ingest(demo_landing):
    assert run_refresh(demo_landing).success
    second = run_refresh(demo_landing)
    assert second.success
    metadata = next(
        event.step_materialization_data.materialization.metadata
        for event in second.all_events
        if event.event_type_value == "ASSET_MATERIALIZATION"
        and event.asset_key.to_user_string() == "raw/transactions"
    )
    assert metadata["files_unchanged"].value == 1
    assert metadata["rows_loaded_this_run"].value == 0


def test_a_rejected_file_fails_the_run_and_keeps_loaded_rows(demo_landing):
    assert run_refresh(demo_landing).success
    with duckdb.connect(str(demo_landing / "warehouse.duckdb"), read_only=True) as con:
        before = con.execute("SELECT count(*) FROM raw.transactions").fetchall()
    write_csv(demo_landing / "landing" / "broken.csv", ["1,2"], header="InvoiceNo,Quantity")
    result = run_refresh(demo_landing)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "broken.csv: missing required column(s): customer_id" in (
        failure.event_specific_data.error.message
    )
    with duckdb.connect(str(demo_landing / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM raw.transactions").fetchall() == before
