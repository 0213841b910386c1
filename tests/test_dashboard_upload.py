"""What a marketer does with nothing loaded: open the dashboard's Upload page, generate demo
data, watch the refresh run in Dagster until the snapshot is published; then upload a small
file of new customers, read the check of it, load it and see the new snapshot's figures. In
headless Chromium, against `dagster dev` (webserver and daemon) on a free localhost port,
over a DATA_DIR and DAGSTER_HOME of the test's own."""

from __future__ import annotations

import contextlib
import csv
import io
import re
import sys
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from pipeline.ingest.discovery import discover_files
from pipeline.serving.snapshot import file_version
from tests.browser import chromium_session
from tests.conftest import DEMO_ENVIRONMENT
from tests.servers import free_port, serve
from tests.test_dashboard import (
    TITLE,
    assert_no_exception,
    dashboard,
    matching_count,
    open_view,
    screenshot,
    snapshot_rows,
)

pytestmark = pytest.mark.slow
PROJECT = Path(__file__).resolve().parent.parent
REFRESH_TIMEOUT_S = 600  # a refresh of 20,000 rows takes 2-3 minutes, runs queued before it more
# As in test_dagster_dev: enough customers buy after the training cutoff for the models.
DEMO_ROWS = 20_000


@contextlib.contextmanager
def dagster_dev(data_dir: Path, home: Path, log_path: Path):
    """`dagster dev` on a free localhost port over ``home`` (DAGSTER_HOME); yields its URL."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").symlink_to(PROJECT / "dagster.yaml")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [str(Path(sys.executable).with_name("dagster")), "dev", "-w", "workspace.yaml"]
    with serve(
        [*command, "-h", "127.0.0.1", "-p", str(port)],
        f"{url}/server_info",
        {"DAGSTER_HOME": str(home), "DATA_DIR": str(data_dir), **DEMO_ENVIRONMENT},
        log_path,
        start_seconds=120,
    ):
        yield url


def new_customers_file(demo_csv: Path, rows: int = 300) -> tuple[bytes, set[str]]:
    """A few hundred lines of the demo file's identified customers under new ids, and two
    lines the raw layer quarantines; with the new ids."""
    with demo_csv.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        lines = [line for line in reader if line[6]][:rows]
    for line in lines:
        line[6] = "9" + line[6]
    bad = ["599999", "85123A", "WHITE HANGING HEART", "abc", "12/1/2011 8:26", "2.55"]
    lines.append([*bad, "917850", "United Kingdom"])
    lines.append([*bad[:3], "6", "31/31/2011 8:26", "2.55", "917850", "United Kingdom"])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(lines)
    return out.getvalue().encode(), {line[6] for line in lines[:rows]}


def metric(page, container: str, label: str):
    """The value element of the metric labelled ``label`` inside ``.st-key-<container>``."""
    box = page.locator(f".st-key-{container} [data-testid=stMetric]").filter(has_text=label)
    return box.locator("[data-testid=stMetricValue]")


def follow_refresh(page, what: str) -> list[str]:
    """Wait (bounded) until the refresh of ``what`` has published its snapshot, which names
    the run (the previous refresh's figures stay on screen while the page reruns); the
    progress messages seen on the way."""
    caption = page.get_by_text(re.compile(rf"^{re.escape(what)}: run \w{{8}} started at"))
    run_id = caption.first.inner_text(timeout=60_000).split(": run ")[1][:8]
    published_by = metric(page, "new_snapshot", "By run")
    seen: list[str] = []
    deadline = time.monotonic() + REFRESH_TIMEOUT_S
    while time.monotonic() < deadline:
        # all_inner_texts does not wait: elements come and go while the page reruns
        if run_id in published_by.all_inner_texts():
            return seen
        for text in page.locator(".st-key-refresh_status").all_inner_texts():
            if "ended" in text or "no new snapshot" in text:
                pytest.fail(f"the refresh of {what} did not publish: {text}")
            if run_id in text and (not seen or seen[-1] != text):
                seen.append(text)
        page.wait_for_timeout(1000)
    pytest.fail(f"no new snapshot within {REFRESH_TIMEOUT_S} s; messages: {seen[-5:]}")


@pytest.fixture(scope="module")
def chromium():
    with chromium_session() as browser:
        yield browser


def test_demo_data_then_an_upload_are_refreshed_and_their_snapshot_shown(chromium, tmp_path):
    data_dir = tmp_path / "data"
    (data_dir / "landing").mkdir(parents=True)
    snapshot = data_dir / "bi" / "customer_intel.duckdb"
    with (
        dagster_dev(data_dir, tmp_path / "dagster_home", tmp_path / "dagster.log") as dagster,
        dashboard(
            data_dir, tmp_path / "streamlit.log", {"DAGSTER_UI_URL": dagster, **DEMO_ENVIRONMENT}
        ) as url,
    ):
        context = chromium.new_context(viewport={"width": 1500, "height": 1100})
        page = context.new_page()
        page.set_default_timeout(60_000)

        # Nothing loaded: the other pages point to Upload, which offers demo data.
        page.goto(url)
        page.get_by_role("heading", name=TITLE).wait_for()
        expect(page.locator("[data-testid=stMain]")).to_contain_text("open Upload")
        open_view(page, f"{url}/upload", "Upload")
        page.get_by_role("heading", name="Nothing loaded yet").wait_for()
        page.get_by_label("Rows").fill(str(DEMO_ROWS))
        page.get_by_label("Seed").fill("7")
        page.get_by_role("button", name="Generate demo data and refresh").click()
        messages = follow_refresh(page, "online_retail_demo.csv")
        assert any("steps done" in m for m in messages), messages
        ((customers,),) = snapshot_rows(data_dir, "SELECT count(*) FROM marts.customer_segments")
        expect(metric(page, "new_snapshot", "Customers")).to_have_text(f"{customers:,}")
        first_version = file_version(snapshot)
        assert_no_exception(page)
        screenshot(page, "dashboard_upload_demo_published")

        # A file of new customers: checked with the pipeline's readers, nothing written yet.
        content, new_ids = new_customers_file(data_dir / "landing" / "online_retail_demo.csv")
        upload = tmp_path / "new_shop_orders.csv"
        upload.write_bytes(content)
        page.locator("[data-testid=stFileUploaderDropzoneInput]").set_input_files(upload)
        preview = page.locator(".st-key-upload_preview")
        expect(metric(page, "upload_preview", "Rows read")).to_have_text("302")
        expect(metric(page, "upload_preview", "Rows to load")).to_have_text("300")
        expect(metric(page, "upload_preview", "Quarantined")).to_have_text("2")
        expect(metric(page, "upload_preview", "Customers")).to_have_text(str(len(new_ids)))
        expect(preview).to_contain_text("quantity: not a number: abc")
        expect(preview).to_contain_text("invoice_ts: not a date: 31/31/2011 8:26")
        expect(preview).to_contain_text("Dates: 2009-12")
        assert [p.name for p in discover_files(data_dir / "landing")] == ["online_retail_demo.csv"]
        assert file_version(snapshot) == first_version
        screenshot(page, "dashboard_upload_preview")

        page.get_by_role("button", name="Load new_shop_orders.csv into landing and refresh").click()
        follow_refresh(page, "new_shop_orders.csv")
        assert (data_dir / "landing" / "new_shop_orders.csv").read_bytes() == content
        landed = data_dir / "landing"
        assert [p.name for p in discover_files(landed)] == [
            "new_shop_orders.csv",
            "online_retail_demo.csv",
        ]
        assert not [p for p in landed.rglob("*") if p.name.startswith(".upload-")]
        ((after,),) = snapshot_rows(data_dir, "SELECT count(*) FROM marts.customer_segments")
        ((added,),) = snapshot_rows(
            data_dir,
            "SELECT count(*) FROM marts.customer_segments WHERE customer_id IN "
            "(SELECT unnest($ids))",
            {"ids": sorted(new_ids)},
        )
        assert added > 0 and after == customers + added
        expect(metric(page, "new_snapshot", "Customers")).to_have_text(f"{after:,}")
        expect(page.locator(".st-key-new_snapshot")).to_contain_text(f"+{added}")
        assert_no_exception(page)
        screenshot(page, "dashboard_upload_published")

        # The other pages show the new snapshot too.
        open_view(page, url, "Targeting")
        assert matching_count(page) == after
        context.close()
