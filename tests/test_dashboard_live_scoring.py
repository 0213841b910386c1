"""What a marketer does on the dashboard over a published snapshot, with no Dagster running:
score a new customer on the Live scoring page and see it logged (once), and open Upload,
which checks a file but says what to start before anything can be loaded. In headless
Chromium, over the session's refreshed demo data (champion models included)."""

from __future__ import annotations

import json
import sqlite3

import pytest
from playwright.sync_api import expect

from pipeline.serving.prediction_log import log_path
from tests.browser import chromium_session
from tests.conftest import DEMO_ENVIRONMENT, UCI_HEADER
from tests.servers import free_port
from tests.test_dashboard import (
    TIMEOUT_MS,
    assert_no_exception,
    dashboard,
    open_view,
    screenshot,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def chromium():
    with chromium_session() as browser:
        yield browser


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1500, "height": 1100})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    yield page
    context.close()


@pytest.fixture(scope="module")
def no_dagster() -> str:
    return f"http://127.0.0.1:{free_port()}"  # nothing listens there


@pytest.fixture(scope="module")
def served(refreshed, tmp_path_factory, no_dagster):
    data_dir = refreshed[0]
    log = tmp_path_factory.mktemp("dashboard_live") / "streamlit.log"
    env = {"DAGSTER_UI_URL": no_dagster, **DEMO_ENVIRONMENT}
    with dashboard(data_dir, log, env) as url:
        yield url, data_dir


def logged(data_dir, customer_id: str) -> list[dict]:
    with sqlite3.connect(log_path(data_dir)) as connection:
        return [
            json.loads(record)
            for (record,) in connection.execute(
                "SELECT record FROM predictions WHERE customer_id = ? ORDER BY seq", [customer_id]
            )
        ]


def test_an_rfm_entry_shows_segment_persona_action_reasons_and_its_log_row(served, page):
    url, data_dir = served
    open_view(page, f"{url}/score", "Live scoring")
    page.get_by_label("Customer id").fill("browser-rfm-1")
    page.get_by_label("Recency (days)").fill("12")
    page.get_by_label("Frequency (orders)").fill("4")
    page.get_by_label("Monetary (net spend)").fill("321.5")
    page.get_by_role("button", name="Score", exact=True).click()
    result = page.locator(".st-key-live_result")
    expect(result).to_contain_text("Customer browser-rfm-1", timeout=120_000)

    (record,) = logged(data_dir, "browser-rfm-1")
    assert record["inputs"].count("321.5") == 1
    for label, value in (
        ("Value segment", record["value_segment"]),
        ("Persona", record["persona"]),
    ):
        box = result.locator("[data-testid=stMetric]").filter(has_text=label)
        expect(box.locator("[data-testid=stMetricValue]")).to_have_text(value)
    expect(result).to_contain_text(f"Action: {record['action']}")
    text = result.inner_text()
    assert "▲" in text or "▼" in text  # the reasons, with their direction
    expect(page.locator(".st-key-prediction_log")).to_contain_text("browser-rfm-1")
    assert_no_exception(page)
    screenshot(page, "dashboard_live_scoring")

    # The same entry again: the logged prediction, not a second one.
    page.get_by_role("button", name="Score", exact=True).click()
    expect(result).to_contain_text("logged before: not scored again")
    assert len(logged(data_dir, "browser-rfm-1")) == 1

    # An entry the API would refuse is refused here with the field's name.
    page.get_by_label("Customer id").fill(" ")
    page.get_by_role("button", name="Score", exact=True).click()
    expect(page.get_by_text("customer_id: Field required")).to_be_visible()


def test_upload_without_dagster_checks_the_file_and_says_what_to_start(served, page, tmp_path):
    url, data_dir = served
    landing_before = sorted(p.name for p in (data_dir / "landing").rglob("*"))
    open_view(page, f"{url}/upload", "Upload")
    warning = page.locator("[data-testid=stAlert]").filter(has_text="Dagster is not running")
    expect(warning).to_contain_text("start it with make dev")
    assert page.get_by_role("heading", name="Nothing loaded yet").count() == 0

    upload = tmp_path / "march.csv"
    upload.write_text(
        UCI_HEADER
        + "\n536365,85123A,WHITE HANGING HEART,6,3/1/2011 8:26,2.55,77001,United Kingdom\n"
    )
    page.locator("[data-testid=stFileUploaderDropzoneInput]").set_input_files(upload)
    preview = page.locator(".st-key-upload_preview")
    expect(preview).to_contain_text("Rows to load")
    expect(preview).to_contain_text("Dates: 2011-03-01 to 2011-03-01")
    expect(
        page.get_by_role("button", name="Load march.csv into landing and refresh")
    ).to_be_disabled()
    assert sorted(p.name for p in (data_dir / "landing").rglob("*")) == landing_before
    assert_no_exception(page)
    screenshot(page, "dashboard_upload_without_dagster")
