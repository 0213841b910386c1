"""Starting and following the refresh over Dagster's GraphQL API (pipeline.serving
.dagster_refresh): its queries are valid for the installed Dagster, its answers are read
right, and a Dagster that is not running is said so. The real instance is exercised by the
dashboard's browser test (tests/test_dashboard_upload.py)."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from dagster_graphql.schema import create_schema
from graphql import parse, validate

from pipeline.serving.dagster_refresh import (
    QUERIES,
    REQUEST_TAG,
    DagsterClient,
    DagsterError,
    DagsterUnreachable,
    RunProgress,
    refresh_state,
    run_progress,
)


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_every_query_is_valid_for_the_installed_dagster(name):
    schema = create_schema().graphql_schema
    assert validate(schema, parse(QUERIES[name])) == []


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_dagster_that_is_not_running_is_said_so_with_what_to_run():
    client = DagsterClient(f"http://127.0.0.1:{_closed_port()}", timeout=2)
    with pytest.raises(DagsterUnreachable) as raised:
        client.launch()
    message = str(raised.value)
    assert message.startswith(f"Dagster is not running at {client.url}: start it with `make dev`")
    assert "set DAGSTER_UI_URL" in message


class FakeDagster:
    """A GraphQL endpoint on localhost answering from a table: operation name -> data."""

    def __init__(self, answers: dict[str, dict]):
        self.answers = answers
        self.delays: dict[str, float] = {}  # operation -> seconds before answering
        self.requests: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server hook's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(body)
                operation = body["query"].split("(")[0].split("{")[0].split()[-1]
                answer = fake.answers.get(operation, {"errors": [{"message": "unknown"}]})
                time.sleep(fake.delays.get(operation, 0))
                payload = json.dumps(answer).encode()
                self.send_response(200 if self.path == "/graphql" else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


REPOSITORIES = {
    "data": {
        "repositoriesOrError": {
            "__typename": "RepositoryConnection",
            "nodes": [
                {
                    "name": "__repository__",
                    "location": {"name": "customer_intel"},
                    "jobs": [{"name": "refresh"}, {"name": "nightly"}],
                }
            ],
        }
    }
}


@pytest.fixture
def fake():
    server = FakeDagster({"DashboardJobLocations": REPOSITORIES})
    yield server
    server.close()


def test_launch_submits_the_refresh_job_of_its_code_location_with_tags(fake):
    fake.answers["DashboardLaunchRun"] = {
        "data": {
            "launchPipelineExecution": {"__typename": "LaunchRunSuccess", "run": {"runId": "r-1"}}
        }
    }
    client = DagsterClient(fake.url + "/")
    assert client.launch("refresh", tags={"pipeline/trigger": "dashboard_upload"}) == "r-1"
    params = fake.requests[-1]["variables"]["executionParams"]
    assert params["selector"] == {
        "repositoryLocationName": "customer_intel",
        "repositoryName": "__repository__",
        "pipelineName": "refresh",
    }
    tags = {t["key"]: t["value"] for t in params["executionMetadata"]["tags"]}
    assert tags["pipeline/trigger"] == "dashboard_upload" and len(tags[REQUEST_TAG]) == 32


def test_a_launch_whose_answer_is_lost_finds_its_run_by_its_request_tag(fake):
    fake.answers["DashboardLaunchRun"] = {
        "data": {
            "launchPipelineExecution": {"__typename": "LaunchRunSuccess", "run": {"runId": "r-2"}}
        }
    }
    fake.delays["DashboardLaunchRun"] = 1.5
    fake.answers["DashboardRunsTagged"] = {
        "data": {"runsOrError": {"__typename": "Runs", "results": [{"runId": "r-2"}]}}
    }
    client = DagsterClient(fake.url, launch_timeout=0.5)
    assert client.launch() == "r-2"
    launched, looked_up = fake.requests[-2:]
    (request_tag,) = [
        t
        for t in launched["variables"]["executionParams"]["executionMetadata"]["tags"]
        if t["key"] == REQUEST_TAG
    ]
    assert looked_up["variables"]["tags"] == [request_tag]

    fake.answers["DashboardRunsTagged"] = {
        "data": {"runsOrError": {"__typename": "Runs", "results": []}}
    }
    with pytest.raises(DagsterUnreachable, match="timed out"):
        client.launch()


def test_a_refused_launch_and_an_unknown_job_are_errors_that_say_why(fake):
    fake.answers["DashboardLaunchRun"] = {
        "data": {
            "launchPipelineExecution": {
                "__typename": "PythonError",
                "message": "the code location failed to load",
            }
        }
    }
    client = DagsterClient(fake.url)
    with pytest.raises(DagsterError, match="PythonError: the code location failed to load"):
        client.launch()
    with pytest.raises(DagsterError, match="no job 'nope'"):
        client.launch("nope")
    fake.answers["DashboardDagsterVersion"] = {"errors": [{"message": "boom"}]}
    with pytest.raises(DagsterError, match="boom"):
        client.version()


def test_an_endpoint_that_is_not_dagster_counts_as_not_running(fake):
    client = DagsterClient(fake.url + "/not-dagster/")
    with pytest.raises(DagsterUnreachable, match="HTTP 404"):
        client.version()


RUN = {
    "runId": "0123456789abcdef",
    "jobName": "refresh",
    "status": "STARTED",
    "stepKeysToExecute": None,
    "executionPlan": {"steps": [{"key": k} for k in ("raw", "staging", "features", "bi")]},
    "stepStats": [
        {"stepKey": "raw", "status": "SUCCESS"},
        {"stepKey": "staging", "status": "SUCCESS"},
        {"stepKey": "features", "status": "IN_PROGRESS"},
    ],
}


def test_progress_reads_status_and_steps(fake):
    fake.answers["DashboardRunProgress"] = {"data": {"runOrError": {"__typename": "Run", **RUN}}}
    progress = DagsterClient(fake.url).progress("0123456789abcdef")
    assert progress.status == "STARTED" and progress.total_steps == 4
    assert progress.running_steps == ["features"] and progress.steps_done == 2
    fake.answers["DashboardRunProgress"] = {
        "data": {"runOrError": {"__typename": "RunNotFoundError", "message": "no run x"}}
    }
    with pytest.raises(DagsterError, match="no run x"):
        DagsterClient(fake.url).progress("x")


def _progress(status: str, **changes) -> RunProgress:
    return run_progress({**RUN, "status": status, **changes})


def test_the_refresh_is_done_when_the_run_succeeded_and_a_new_snapshot_is_published():
    running = refresh_state(_progress("STARTED"), snapshot_changed=False)
    assert running.phase == "running" and not running.finished
    assert running.message == "run 01234567: running features (2 of 4 steps done)"
    assert running.fraction == 0.5

    queued = refresh_state(_progress("QUEUED", stepStats=[]), snapshot_changed=False)
    assert queued.phase == "waiting" and "queued" in queued.message

    done = refresh_state(_progress("SUCCESS"), snapshot_changed=True)
    assert (done.phase, done.fraction, done.finished) == ("published", 1.0, True)

    stale = refresh_state(_progress("SUCCESS"), snapshot_changed=False)
    assert stale.phase == "no_new_snapshot" and stale.finished

    failed_steps = [*RUN["stepStats"][:2], {"stepKey": "features", "status": "FAILURE"}]
    failed = refresh_state(_progress("FAILURE", stepStats=failed_steps), snapshot_changed=False)
    assert failed.phase == "failed" and "in features" in failed.message
    assert "previous snapshot is still served" in failed.message


def test_the_url_may_name_the_graphql_endpoint_itself():
    assert DagsterClient("http://127.0.0.1:3000/graphql").endpoint == (
        "http://127.0.0.1:3000/graphql"
    )
