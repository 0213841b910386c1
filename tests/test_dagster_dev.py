"""What a data engineer does: start `dagster dev`, launch the refresh over GraphQL, look at
the asset graph in a browser."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from dagster import DagsterRunStatus
from dagster_graphql import DagsterGraphQLClient

from pipeline.demo import write_demo_data
from tests.browser import launch, screenshot_path

pytestmark = pytest.mark.slow
PROJECT = Path(__file__).resolve().parent.parent

SCHEDULES_AND_SENSORS = """
query {
  repositoriesOrError {
    ... on RepositoryConnection {
      nodes {
        name
        location { name }
        schedules { name scheduleState { status } }
        sensors { name sensorState { status } }
      }
    }
  }
}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def dagster_dev(tmp_path, data_dir):
    """`dagster dev` (webserver and daemon) on localhost over a temporary instance."""
    # 20,000 rows, seed 7: 108 customers before the training cutoff, 40 of whom buy after it
    # (training needs 34 of each; 15,000 rows, seed 3 of the retail demo had only 29)
    write_demo_data(data_dir / "landing", data_dir / "demo", n_rows=20_000, seed=7)
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").symlink_to(PROJECT / "dagster.yaml")
    port = _free_port()
    env = os.environ | {
        "DAGSTER_HOME": str(home),
        "DATA_DIR": str(data_dir),
        "FRESHNESS_REFERENCE_DATE": "2011-12-10",
    }
    log = (tmp_path / "dagster_dev.log").open("w")
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("dagster")),
            "dev",
            "-w",
            "workspace.yaml",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        cwd=PROJECT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/server_info", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            if process.poll() is not None:
                pytest.fail("dagster dev exited: " + (tmp_path / "dagster_dev.log").read_text())
            time.sleep(1)
        else:
            pytest.fail("dagster dev did not start in 120 s")
        yield port
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


def test_refresh_through_graphql_with_schedule_and_sensors_running(dagster_dev):
    port = dagster_dev
    client = DagsterGraphQLClient("127.0.0.1", port_number=port)
    run_id = client.submit_job_execution(
        "refresh", repository_location_name="customer_intel", tags={"pipeline/trigger": "test"}
    )
    deadline = time.monotonic() + 600
    status = client.get_run_status(run_id)
    while status not in (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE) and (
        time.monotonic() < deadline
    ):
        time.sleep(2)
        status = client.get_run_status(run_id)
    assert status == DagsterRunStatus.SUCCESS

    repositories = client._execute(SCHEDULES_AND_SENSORS)["repositoriesOrError"]["nodes"]
    ours = next(r for r in repositories if r["location"]["name"] == "customer_intel")
    schedules = {s["name"]: s["scheduleState"]["status"] for s in ours["schedules"]}
    sensors = {s["name"]: s["sensorState"]["status"] for s in ours["sensors"]}
    assert schedules["nightly_refresh"] == "RUNNING"
    assert sensors["landing_files"] == "RUNNING"

    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(f"http://127.0.0.1:{port}/asset-groups", wait_until="networkidle")
        # A fresh instance greets with a "Join the Dagster community" dialog, which takes a
        # few seconds to appear on a busy machine and swallows the keyboard until skipped.
        try:
            page.get_by_role("button", name="Skip").click(timeout=15_000)
        except PlaywrightTimeout:
            pass
        page.keyboard.press("Alt+e")  # the graph's "Expand all groups"
        page.get_by_text("customer_rfm").first.wait_for(timeout=60_000)
        page.screenshot(path=str(screenshot_path("dagster_asset_graph")), full_page=True)
        browser.close()
    assert screenshot_path("dagster_asset_graph").stat().st_size > 10_000
