"""Start the refresh in the running Dagster instance and follow it, over its GraphQL API.

The dashboard does not run the pipeline itself: the refresh belongs to the Dagster instance
(`make dev`: webserver and daemon), whose run queue keeps one warehouse writer at a time and
whose UI shows the run. This module speaks to that instance's GraphQL endpoint (DAGSTER_UI_URL,
default http://127.0.0.1:3000) with the queries dagster-graphql's ``DagsterGraphQLClient``
sends (``launchPipelineExecution``; the run's status), plus the run's step statistics for
progress. It posts them with the standard library: the domain core imports no Dagster
package (tests/test_import_layers.py), and a test validates every query here against the
installed Dagster's GraphQL schema.

When nothing answers at the URL, :class:`DagsterUnreachable` says what to start.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field

DEFAULT_DAGSTER_URL = "http://127.0.0.1:3000"
REFRESH_JOB = "refresh"
START_HINT = "start it with `make dev` (or `customer-intel dev`)"

VERSION_QUERY = """
query DashboardDagsterVersion {
  version
}
"""

JOB_LOCATIONS_QUERY = """
query DashboardJobLocations {
  repositoriesOrError {
    __typename
    ... on RepositoryConnection {
      nodes {
        name
        location { name }
        jobs { name }
      }
    }
    ... on Error { message }
  }
}
"""

LAUNCH_MUTATION = """
mutation DashboardLaunchRun($executionParams: ExecutionParams!) {
  launchPipelineExecution(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on InvalidStepError { invalidStepKey }
    ... on InvalidOutputError { stepKey invalidOutputName }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on Error { message }
  }
}
"""

RUN_QUERY = """
query DashboardRunProgress($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run {
      runId
      jobName
      status
      stepKeysToExecute
      executionPlan { steps { key } }
      stepStats { stepKey status }
    }
    ... on Error { message }
  }
}
"""

RUNS_TAGGED_QUERY = """
query DashboardRunsTagged($tags: [ExecutionTag!]) {
  runsOrError(filter: {tags: $tags}, limit: 1) {
    __typename
    ... on Runs { results { runId } }
    ... on Error { message }
  }
}
"""

QUERIES = {
    "version": VERSION_QUERY,
    "job_locations": JOB_LOCATIONS_QUERY,
    "launch": LAUNCH_MUTATION,
    "run": RUN_QUERY,
    "runs_tagged": RUNS_TAGGED_QUERY,
}
REQUEST_TAG = "pipeline/request"  # a launch's own id: finds its run if the answer was lost

# Run statuses (Dagster's RunStatus) by what they mean to the person waiting.
WAITING = frozenset({"QUEUED", "NOT_STARTED", "STARTING", "MANAGED"})
RUNNING = frozenset({"STARTED"})
SUCCEEDED = frozenset({"SUCCESS"})
ENDED_BADLY = frozenset({"FAILURE", "CANCELING", "CANCELED"})


class DagsterUnreachable(ConnectionError):
    """No Dagster webserver answers at the configured URL."""

    def __init__(self, url: str, detail: str = ""):
        self.url = url
        super().__init__(
            f"Dagster is not running at {url}: {START_HINT}, or set DAGSTER_UI_URL to the "
            "instance's address" + (f" ({detail})" if detail else "")
        )


class DagsterError(RuntimeError):
    """Dagster answered, but refused or could not do what was asked."""


@dataclass(frozen=True)
class RunProgress:
    """One look at a run: its status and its steps."""

    run_id: str
    job_name: str
    status: str  # Dagster's RunStatus: QUEUED, STARTED, SUCCESS, FAILURE, ...
    total_steps: int | None  # steps the run executes (None: not known yet)
    step_status: dict[str, str] = field(default_factory=dict)  # step key -> StepEventStatus

    def steps_with(self, status: str) -> list[str]:
        return [key for key, value in self.step_status.items() if value == status]

    @property
    def running_steps(self) -> list[str]:
        return self.steps_with("IN_PROGRESS")

    @property
    def failed_steps(self) -> list[str]:
        return self.steps_with("FAILURE")

    @property
    def steps_done(self) -> int:
        return sum(
            value in ("SUCCESS", "SKIPPED", "FAILURE") for value in self.step_status.values()
        )

    @property
    def finished(self) -> bool:
        return self.status in SUCCEEDED | ENDED_BADLY


class DagsterClient:
    """The few GraphQL calls the dashboard needs, against the instance at ``url``."""

    def __init__(
        self, url: str = DEFAULT_DAGSTER_URL, timeout: float = 10.0, launch_timeout: float = 120.0
    ):
        self.url = url.rstrip("/")
        if self.url.endswith("/graphql"):
            self.url = self.url[: -len("/graphql")]
        self.timeout = timeout
        # Submitting a run stores its plan and may wait for the code server: on a busy
        # machine that takes longer than a status query.
        self.launch_timeout = launch_timeout

    @property
    def endpoint(self) -> str:
        return f"{self.url}/graphql"

    def execute(
        self, query: str, variables: dict | None = None, timeout: float | None = None
    ) -> dict:
        """The ``data`` of one GraphQL request; DagsterUnreachable when nothing answers,
        DagsterError when GraphQL reports errors."""
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(
            self.endpoint,
            data=body,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout or self.timeout) as response:
                answer = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as error:
            raise DagsterUnreachable(self.url, f"HTTP {error.code} from {self.endpoint}") from None
        except (TimeoutError, urllib.error.URLError, ConnectionError) as error:
            reason = getattr(error, "reason", error)
            raise DagsterUnreachable(self.url, str(reason)) from None
        except json.JSONDecodeError:
            raise DagsterUnreachable(self.url, f"{self.endpoint} did not answer JSON") from None
        if answer.get("errors"):
            messages = "; ".join(str(e.get("message", e)) for e in answer["errors"])
            raise DagsterError(f"Dagster's GraphQL API at {self.endpoint}: {messages}")
        return answer.get("data") or {}

    def version(self) -> str:
        """Dagster's version: answers only when the webserver is up."""
        return self.execute(VERSION_QUERY)["version"]

    def job_location(self, job_name: str) -> tuple[str, str]:
        """(code location, repository) holding ``job_name``."""
        result = self.execute(JOB_LOCATIONS_QUERY)["repositoriesOrError"]
        if result["__typename"] != "RepositoryConnection":
            raise DagsterError(f"Dagster cannot list its code locations: {result.get('message')}")
        found = [
            (repository["location"]["name"], repository["name"])
            for repository in result["nodes"]
            if any(job["name"] == job_name for job in repository["jobs"])
        ]
        if not found:
            raise DagsterError(
                f"the Dagster instance at {self.url} has no job {job_name!r}: is it running "
                "this project's workspace.yaml?"
            )
        if len(found) > 1:
            raise DagsterError(f"several code locations have a job {job_name!r}: {found}")
        return found[0]

    def launch(self, job_name: str = REFRESH_JOB, tags: dict[str, str] | None = None) -> str:
        """Submit a run of ``job_name`` (queued behind any run that holds the warehouse);
        returns its run id. The run carries a request tag of its own, so when the answer is
        lost (a timeout on a busy machine) the run it started is still found."""
        location, repository = self.job_location(job_name)
        request_id = uuid.uuid4().hex
        tags = {**(tags or {}), REQUEST_TAG: request_id}
        params = {
            "selector": {
                "repositoryLocationName": location,
                "repositoryName": repository,
                "pipelineName": job_name,
            },
            "runConfigData": {},
            "mode": "default",
            "executionMetadata": {"tags": [{"key": k, "value": str(v)} for k, v in tags.items()]},
        }
        try:
            result = self.execute(
                LAUNCH_MUTATION, {"executionParams": params}, timeout=self.launch_timeout
            )
        except DagsterUnreachable:
            found = self.tagged_run(REQUEST_TAG, request_id)
            if found is None:
                raise
            return found
        outcome = result["launchPipelineExecution"]
        if outcome["__typename"] in ("LaunchRunSuccess", "LaunchPipelineRunSuccess"):
            return outcome["run"]["runId"]
        detail = (
            outcome.get("message")
            or outcome.get("invalidStepKey")
            or "; ".join(e["message"] for e in outcome.get("errors", []))
        )
        raise DagsterError(f"Dagster did not start {job_name}: {outcome['__typename']}: {detail}")

    def tagged_run(self, key: str, value: str) -> str | None:
        """The id of the newest run tagged ``key=value``, None when there is none."""
        result = self.execute(RUNS_TAGGED_QUERY, {"tags": [{"key": key, "value": value}]})
        runs = result["runsOrError"]
        if runs["__typename"] != "Runs":
            raise DagsterError(f"Dagster cannot list runs: {runs.get('message')}")
        return runs["results"][0]["runId"] if runs["results"] else None

    def progress(self, run_id: str) -> RunProgress:
        """The run's status and its steps' statuses."""
        result = self.execute(RUN_QUERY, {"runId": run_id})["runOrError"]
        if result["__typename"] != "Run":
            raise DagsterError(f"run {run_id}: {result.get('message', result['__typename'])}")
        return run_progress(result)


def run_progress(run: dict) -> RunProgress:
    """A RunProgress from RUN_QUERY's ``Run``."""
    plan = run.get("executionPlan") or {}
    keys = run.get("stepKeysToExecute") or [step["key"] for step in plan.get("steps", [])]
    return RunProgress(
        run_id=run["runId"],
        job_name=run.get("jobName", ""),
        status=run["status"],
        total_steps=len(keys) or None,
        step_status={s["stepKey"]: s["status"] or "" for s in run.get("stepStats", [])},
    )


@dataclass(frozen=True)
class RefreshState:
    """Where a refresh started from the dashboard stands, for a person."""

    phase: str  # waiting | running | published | failed | no_new_snapshot
    message: str
    fraction: float  # for a progress bar, 0..1

    @property
    def finished(self) -> bool:
        return self.phase in ("published", "failed", "no_new_snapshot")


def refresh_state(progress: RunProgress, snapshot_changed: bool) -> RefreshState:
    """What to show for ``progress``, given whether the BI snapshot's file has changed
    since the refresh was started. Done means: the run succeeded and a new snapshot is
    published (the snapshot step comes last, so both hold together)."""
    total = progress.total_steps
    done = progress.steps_done
    counted = f"{done} of {total} steps done" if total else f"{done} steps done"
    fraction = min(done / total, 1.0) if total else 0.0
    run = f"run {progress.run_id[:8]}"
    if progress.status in SUCCEEDED:
        if snapshot_changed:
            return RefreshState("published", f"{run} succeeded: a new snapshot is published", 1.0)
        return RefreshState(
            "no_new_snapshot",
            f"{run} succeeded but published no new snapshot (see the run in the Dagster UI)",
            1.0,
        )
    if progress.status in ENDED_BADLY:
        failed = progress.failed_steps
        where = f" in {', '.join(failed)}" if failed else ""
        return RefreshState(
            "failed",
            f"{run} ended {progress.status.lower()}{where}; the previous snapshot is still "
            "served. The Dagster UI shows the run's log.",
            fraction,
        )
    if progress.status in WAITING:
        return RefreshState(
            "waiting",
            f"{run} is {progress.status.lower().replace('_', ' ')}: it starts when the run "
            "holding the warehouse has finished",
            fraction,
        )
    running = progress.running_steps
    step = f"running {', '.join(running)}" if running else "between steps"
    return RefreshState("running", f"{run}: {step} ({counted})", fraction)
