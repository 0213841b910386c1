"""What a marketer does: open the dashboard (`streamlit run dashboard/app.py` on localhost)
over the snapshot a refresh published, filter target customers, download them, look at the
model and the segments, and look up one customer; in headless Chromium."""

from __future__ import annotations

import contextlib
import csv
import sys
import time
from pathlib import Path

import duckdb
import pytest
from playwright.sync_api import expect

from tests.browser import launch, screenshot_path
from tests.servers import free_port, serve
from tests.test_dashboard_data import write_snapshot

pytestmark = pytest.mark.slow
TITLE = "Customer intelligence"
TIMEOUT_MS = 30_000


@contextlib.contextmanager
def dashboard(data_dir: Path, log_path: Path, env: dict[str, str] | None = None):
    """`streamlit run dashboard/app.py` on a free localhost port, reading ``data_dir``
    (``env``: more environment variables, e.g. DAGSTER_UI_URL)."""
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", "dashboard/app.py"] + [
        "--server.address=127.0.0.1",
        f"--server.port={port}",
        "--server.headless=true",
        "--browser.gatherUsageStats=false",
        "--server.fileWatcherType=none",
    ]
    url = f"http://127.0.0.1:{port}"
    with serve(
        command,
        f"{url}/_stcore/health",
        {"DATA_DIR": str(data_dir), **(env or {})},
        log_path,
        stop_seconds=20,
    ):
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def refreshed_dashboard(refreshed, tmp_path_factory):
    """The dashboard over the session's refreshed demo data (snapshot already published)."""
    data_dir = refreshed[0]
    assert (data_dir / "bi" / "customer_intel.duckdb").is_file()
    log = tmp_path_factory.mktemp("dashboard") / "streamlit.log"
    with dashboard(data_dir, log) as url:
        yield url, data_dir


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1500, "height": 1100}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    yield page
    context.close()


def snapshot_rows(data_dir: Path, sql: str, parameters: dict | None = None) -> list[tuple]:
    path = data_dir / "bi" / "customer_intel.duckdb"
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.execute(sql, parameters or {}).fetchall()


def open_view(page, url: str, heading: str) -> None:
    """Load a view and wait until its header is shown under the app's title."""
    page.goto(url)
    page.get_by_role("heading", name=TITLE).wait_for()
    page.get_by_role("heading", name=heading, exact=True).wait_for()


def charts(page, at_least: int) -> None:
    page.locator("[data-testid=stVegaLiteChart]").nth(at_least - 1).wait_for()


def screenshot(page, name: str) -> None:
    """The whole view: Streamlit scrolls inside its main element, so grow the viewport."""
    height = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")
    page.set_viewport_size({"width": 1500, "height": max(1100, min(int(height), 5000))})
    page.wait_for_timeout(700)  # charts re-render at the new size
    page.screenshot(path=str(screenshot_path(name)), full_page=True)
    assert screenshot_path(name).stat().st_size > 10_000


def assert_no_exception(page) -> None:
    exceptions = page.locator("[data-testid=stException]")
    assert exceptions.count() == 0, exceptions.all_inner_texts()


def matching_count(page) -> int:
    text = page.locator(".st-key-matching_count [data-testid=stMetricValue]").inner_text()
    return int(text.replace(",", ""))


def wait_for_count(page, expected: int) -> None:
    """Each key press reruns the page; wait until the count reflects the final filters."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    count = matching_count(page)
    while count != expected and time.monotonic() < deadline:
        page.wait_for_timeout(200)
        count = matching_count(page)
    assert count == expected


def slider(page, index: int):
    """(the slider's thumb, its displayed value) of the index-th slider on the page."""
    container = page.locator("[data-testid=stSlider]").nth(index)
    return container.get_by_role("slider"), container.locator("[data-testid=stSliderThumbValue]")


def test_every_view_loads_with_the_snapshot_figures(refreshed_dashboard, page):
    url, data_dir = refreshed_dashboard
    (customers,) = snapshot_rows(data_dir, "SELECT count(*) FROM marts.customer_segments")[0]

    open_view(page, url, "Targeting")
    assert matching_count(page) == customers
    charts(page, 1)
    assert_no_exception(page)

    open_view(page, f"{url}/model", "Model")
    page.get_by_role("heading", name="Calibration").wait_for()
    ((churn_version,),) = snapshot_rows(data_dir, "SELECT DISTINCT model_version FROM scores.churn")
    champion = page.locator("[data-testid=stMetric]").filter(has_text="Champion customer_churn")
    expect(champion.locator("[data-testid=stMetricValue]")).to_have_text(f"v{churn_version}")
    ((brier, auc),) = snapshot_rows(
        data_dir,
        "SELECT max(value) FILTER (metric = 'brier'), max(value) FILTER (metric = 'roc_auc') "
        "FROM scores.model_evaluation WHERE model_name = 'purchase_propensity' "
        "AND dataset = 'validation' AND is_registered",
    )
    metrics = page.locator(".st-key-model_metrics")
    expect(metrics).to_contain_text(f"{brier:.4f}")
    expect(metrics).to_contain_text(f"{auc:.3f}")
    page.get_by_role("heading", name="What drives churn").wait_for()
    charts(page, 2)  # calibration curve, coefficients
    assert_no_exception(page)
    screenshot(page, "dashboard_model")

    open_view(page, f"{url}/segments", "Segments")
    for heading in ("Value x purchase style", "Personas", "RFM segments", "Recency"):
        page.get_by_role("heading", name=heading).wait_for()
    page.get_by_role("heading", name="Monthly revenue").wait_for()
    charts(page, 6)  # matrix, personas, RFM size and revenue, recency, monthly revenue
    assert_no_exception(page)
    screenshot(page, "dashboard_segments")


def test_filters_change_the_count_and_the_download_holds_exactly_those_customers(
    refreshed_dashboard, page, tmp_path
):
    url, data_dir = refreshed_dashboard
    open_view(page, url, "Targeting")
    everyone = matching_count(page)

    propensity, propensity_value = slider(page, 0)
    propensity.focus()
    for _ in range(6):  # 0.00 -> 0.30 in steps of 0.05
        propensity.press("ArrowRight")
    min_propensity = float(propensity_value.inner_text())
    assert min_propensity == pytest.approx(0.30)
    ((after_propensity,),) = snapshot_rows(
        data_dir,
        "SELECT count(*) FROM marts.customer_segments WHERE purchase_probability >= $p",
        {"p": min_propensity},
    )
    assert 0 < after_propensity < everyone
    wait_for_count(page, after_propensity)

    shortfall, shortfall_value = slider(page, 1)
    shortfall.focus()
    for _ in range(4):  # any -> the 4th round threshold
        shortfall.press("ArrowRight")
    min_shortfall = float(shortfall_value.inner_text().lstrip("≥ ").replace(",", ""))
    assert min_shortfall > 0
    matching = snapshot_rows(
        data_dir,
        "SELECT customer_id FROM marts.customer_segments "
        "WHERE purchase_probability >= $p AND shortfall >= $s",
        {"p": min_propensity, "s": min_shortfall},
    )
    count = len(matching)
    assert 0 < count < after_propensity
    wait_for_count(page, count)

    with page.expect_download() as download:
        page.locator("[data-testid=stDownloadButton] button").click()
    target = tmp_path / download.value.suggested_filename
    download.value.save_as(target)
    with target.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == count
    assert {row["customer_id"] for row in rows} == {customer for (customer,) in matching}
    assert all(float(row["purchase_probability"]) >= min_propensity for row in rows)
    assert all(float(row["shortfall"]) >= min_shortfall for row in rows)
    assert_no_exception(page)
    screenshot(page, "dashboard_targeting")


def test_customer_lookup_shows_the_customers_scores_segment_and_action(refreshed_dashboard, page):
    url, data_dir = refreshed_dashboard
    ((customer_id, action, value_segment, persona, category),) = snapshot_rows(
        data_dir,
        """
        SELECT c.customer_id, c.action, c.value_segment, c.persona,
               (SELECT category FROM marts.product_recommendations r
                WHERE r.customer_id = c.customer_id ORDER BY recommendation_rank LIMIT 1)
        FROM marts.customer_segments c
        ORDER BY (SELECT count(*) FROM marts.product_recommendations r
                  WHERE r.customer_id = c.customer_id) DESC, c.customer_id
        LIMIT 1
        """,
    )
    open_view(page, f"{url}/customer", "Customer")
    box = page.locator("[data-testid=stTextInput] input")
    box.fill(customer_id)
    box.press("Enter")
    page.get_by_role("heading", name=f"Customer {customer_id}").wait_for()
    page.get_by_role("heading", name="Live predictions").wait_for()  # the last section
    expect(page.locator(".st-key-customer_action")).to_contain_text(f"Action: {action}")
    segments = page.locator(".st-key-customer_segments")
    expect(segments).to_contain_text(f"Value segment: {value_segment}")
    expect(segments).to_contain_text(f"Persona: {persona}")
    text = page.locator("[data-testid=stMain]").inner_text()
    assert "▲" in text or "▼" in text
    if category:
        expect(page.locator(".st-key-customer_recommendations")).to_contain_text(category)
    assert_no_exception(page)
    screenshot(page, "dashboard_customer")

    box.fill("no-such-customer")
    box.press("Enter")
    page.get_by_text("No customer 'no-such-customer' in this snapshot.").wait_for()


def test_without_a_snapshot_a_message_then_a_new_publish_is_picked_up(browser, page, tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with dashboard(data_dir, tmp_path / "streamlit.log") as url:
        page.goto(url)
        page.get_by_role("heading", name=TITLE).wait_for()
        message = page.locator("[data-testid=stAlert]").first
        expect(message).to_contain_text("No snapshot yet: run make demo")
        expect(message).to_contain_text(str(data_dir / "bi" / "customer_intel.duckdb"))
        assert_no_exception(page)
        screenshot(page, "dashboard_no_snapshot")

        # An older pipeline published a snapshot without the model report: the views that
        # have their tables work, the model view says which table is missing.
        write_snapshot(
            data_dir / "bi" / "customer_intel.duckdb",
            omit=("scores.model_evaluation", "scores.calibration_curve", "marts.prediction_log"),
        )
        open_view(page, url, "Targeting")
        assert matching_count(page) == 5
        open_view(page, f"{url}/model", "Model")
        warning = page.get_by_text("This snapshot has no table scores.model_evaluation")
        warning.first.wait_for()
        assert_no_exception(page)
        screenshot(page, "dashboard_older_snapshot")
