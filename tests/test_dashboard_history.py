"""The History page and the Customer page's timeline, in headless Chromium, over a snapshot
that holds three monthly history snapshots of the refreshed demo data."""

from __future__ import annotations

import shutil

import pytest
from dagster import DagsterInstance
from playwright.sync_api import expect

from tests import test_dashboard as dashboard_tests
from tests.conftest import DEMO_ENVIRONMENT
from tests.test_dashboard import (
    assert_no_exception,
    charts,
    dashboard,
    open_view,
    screenshot,
    snapshot_rows,
)

# The dashboard tests' browser and page fixtures.
browser = dashboard_tests.browser
page = dashboard_tests.page
pytestmark = pytest.mark.slow
DATES = ("2011-10-01", "2011-11-01", "2011-12-01")


def _take_history(data_dir) -> None:
    """One run of three monthly snapshots, then one of the migration marts and the BI
    snapshot, as `customer-intel history --every month` does."""
    from orchestration.definitions import defs
    from orchestration.history import HISTORY_FOLLOWERS, HISTORY_KEY

    job = defs.resolve_job_def("history_snapshot")
    tags = {
        "dagster/asset_partition_range_start": DATES[0],
        "dagster/asset_partition_range_end": DATES[-1],
    }
    with DagsterInstance.ephemeral() as instance:
        for selection, config in (
            ([HISTORY_KEY], {"ops": {"customer_snapshots": {"config": {"every": "month"}}}}),
            (list(HISTORY_FOLLOWERS), {}),
        ):
            result = job.execute_in_process(
                instance=instance, tags=tags, run_config=config, asset_selection=selection
            )
            assert result.success


@pytest.fixture(scope="module")
def history_dashboard(refreshed, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("history") / "data"
    shutil.copytree(
        refreshed[0], data_dir, ignore=shutil.ignore_patterns("*.lock", "exports", "quality")
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATA_DIR", str(data_dir))
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        patch.delenv("AS_OF_DATE", raising=False)
        for name, value in DEMO_ENVIRONMENT.items():
            patch.setenv(name, value)
        _take_history(data_dir)
    log = tmp_path_factory.mktemp("dashboard") / "streamlit.log"
    with dashboard(data_dir, log) as url:
        yield url, data_dir


def test_history_page_shows_who_moved_and_sizes_over_time(history_dashboard, page):
    url, data_dir = history_dashboard
    ((moved,),) = snapshot_rows(
        data_dir,
        "SELECT sum(customers) FROM marts.segment_transitions WHERE dimension = 'value_segment' "
        "AND from_label <> to_label AND from_label <> '(new)'",
    )
    ((from_date, to_date),) = snapshot_rows(
        data_dir, "SELECT DISTINCT from_date, to_date FROM marts.segment_transitions"
    )
    assert (str(from_date), str(to_date)) == (DATES[1], DATES[2])  # newest vs 30 days before
    open_view(page, f"{url}/history", "History")
    page.get_by_role("heading", name="Who moved").wait_for()
    metric = page.locator(".st-key-history_moved [data-testid=stMetricValue]")
    expect(metric).to_have_text(f"{int(moved or 0):,}")
    charts(page, 2)  # the matrix and the sizes over time
    page.get_by_role("heading", name="Segment sizes over time").wait_for()
    assert_no_exception(page)
    screenshot(page, "dashboard_history")


def test_customer_page_shows_the_customers_timeline(history_dashboard, page):
    url, data_dir = history_dashboard
    ((customer_id, snapshots),) = snapshot_rows(
        data_dir,
        "SELECT customer_id, count(*) FROM history.customer_snapshots "
        "GROUP BY customer_id ORDER BY count(*) DESC, customer_id LIMIT 1",
    )
    assert snapshots == len(DATES)
    open_view(page, f"{url}/customer", "Customer")
    box = page.locator("[data-testid=stTextInput] input")
    box.fill(customer_id)
    box.press("Enter")
    page.get_by_role("heading", name=f"Customer {customer_id}").wait_for()
    timeline = page.locator(".st-key-customer_history [data-testid=stDataFrame]")
    timeline.wait_for()
    assert_no_exception(page)
    screenshot(page, "dashboard_customer_history")
