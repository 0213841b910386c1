"""What the command line shows of a run: one line per step with its elapsed time while the
run goes, the whole event log in a file, and a summary at the end.

The run executes in this process and records its events in the Dagster instance; a thread
reads them back from the instance as they arrive (:class:`StepProgress`), so the console
shows steps instead of Dagster's DEBUG stream (``--verbose`` brings that back).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from dagster import AssetCheckSeverity, DagsterEventType, DagsterInstance

STEP_EVENTS = {
    DagsterEventType.STEP_START,
    DagsterEventType.STEP_SUCCESS,
    DagsterEventType.STEP_FAILURE,
    DagsterEventType.STEP_UP_FOR_RETRY,
    DagsterEventType.STEP_SKIPPED,
}
STEP_COLUMN = 62  # step names are padded with dots to this width
QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


class StepProgress(threading.Thread):
    """Prints ``[ 3/28]  staging_clean ............ 4.2 s`` as each step of ``run_id``
    ends, reading the run's events from ``instance`` every ``interval`` seconds."""

    def __init__(
        self,
        instance: DagsterInstance,
        run_id: str,
        steps: int,
        emit: Callable[[str], None] = print,
        interval: float = 0.5,
    ):
        super().__init__(daemon=True, name="step-progress")
        self.instance, self.run_id, self.steps = instance, run_id, steps
        self.emit, self.interval = emit, interval
        self._stop_event = threading.Event()
        self._cursor: str | None = None
        self._step_started: dict[str, float] = {}
        self.done = 0

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.poll()
            self._stop_event.wait(self.interval)
        self.poll()

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=10)

    def poll(self) -> None:
        connection = self.instance.get_records_for_run(
            self.run_id, cursor=self._cursor, of_type=STEP_EVENTS
        )
        self._cursor = connection.cursor
        for record in connection.records:
            self._show(record.event_log_entry)

    def _show(self, entry) -> None:
        event = entry.dagster_event
        step, kind = event.step_key, event.event_type
        if kind == DagsterEventType.STEP_START:
            self._step_started[step] = entry.timestamp
            return
        elapsed = entry.timestamp - self._step_started.get(step, entry.timestamp)
        if kind == DagsterEventType.STEP_UP_FOR_RETRY:
            self.emit(f"        {step}: failed, retrying ({_first_line(event)})")
            return
        self.done += 1
        verdict = {
            DagsterEventType.STEP_SUCCESS: f"{elapsed:6.1f} s",
            DagsterEventType.STEP_FAILURE: f"{elapsed:6.1f} s  FAILED: {_first_line(event)}",
            DagsterEventType.STEP_SKIPPED: "  skipped (an upstream step failed or was blocked)",
        }[kind]
        dots = "." * max(3, STEP_COLUMN - len(step))
        self.emit(f"[{self.done:>2}/{self.steps}]  {step} {dots} {verdict}")


def _first_line(event) -> str:
    error = getattr(event.event_specific_data, "error", None)
    while error is not None and error.cause is not None:  # the user's exception, unwrapped
        error = error.cause
    message = error.message if error is not None else (event.message or "")
    return message.strip().splitlines()[0][:200] if message.strip() else ""


def write_event_log(instance: DagsterInstance, run_id: str, path: Path) -> Path:
    """Every event of the run, one line each (what ``--verbose`` prints), to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as log:
        for entry in instance.all_logs(run_id):
            moment = dt.datetime.fromtimestamp(entry.timestamp, dt.UTC).isoformat(
                timespec="seconds"
            )
            kind = entry.dagster_event.event_type_value if entry.dagster_event else "LOG"
            step = entry.step_key or "-"
            log.write(f"{moment} {kind} {step} {entry.message}\n")
    return path


# The tables written by the champion models (their "model" metadata names the version).
LABELLED_BY_CHAMPIONS = ("scores/", "segments/")


@dataclass
class RunSummary:
    success: bool
    seconds: float
    tables: dict[str, int | None] = field(default_factory=dict)
    checks: Counter = field(default_factory=Counter)
    failed_checks: list[str] = field(default_factory=list)
    champions: dict[str, str] = field(default_factory=dict)
    failed_steps: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, result, seconds: float) -> RunSummary:
        summary = cls(result.success, seconds)
        for event in result.all_events:
            if event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
                materialization = event.step_materialization_data.materialization
                rows = materialization.metadata.get("dagster/row_count")
                key = materialization.asset_key.to_user_string()
                summary.tables[key] = rows.value if rows is not None else None
                champion = materialization.metadata.get("model")
                if key.startswith(LABELLED_BY_CHAMPIONS) and champion is not None:
                    summary.champions[key] = str(champion.value)
            elif event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION:
                evaluation = event.asset_check_evaluation_data
                name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
                if evaluation.passed:
                    summary.checks["passed"] += 1
                elif evaluation.severity == AssetCheckSeverity.WARN:
                    summary.checks["warned"] += 1
                    summary.failed_checks.append(f"warned  {name}")
                else:
                    summary.checks["failed"] += 1
                    summary.failed_checks.append(f"FAILED  {name}")
            elif event.is_step_failure:
                summary.failed_steps.append(f"{event.step_key}: {_first_line(event)}")
        return summary

    def render(self, *, job: str, warehouse: Path, event_log: Path) -> str:
        status = "succeeded" if self.success else "FAILED"
        lines = [f"\n{job} {status} in {self.seconds:.1f} s", "", "tables:"]
        width = max((len(k) for k in self.tables), default=10)
        for key, rows in sorted(self.tables.items()):
            shown = f"{rows:>12,} rows" if isinstance(rows, int) else ""
            lines.append(f"  {key:<{width}} {shown}")
        counts = self.checks
        lines += [
            "",
            f"checks: {counts['passed']} passed, {counts['warned']} warned, "
            f"{counts['failed']} failed",
            *(f"  {line}" for line in self.failed_checks),
        ]
        if self.champions:
            lines += ["", "champion models:"]
            lines += [f"  {key:<26} {model}" for key, model in sorted(self.champions.items())]
        if self.failed_steps:
            lines += ["", "failed steps:", *(f"  {line}" for line in self.failed_steps)]
        lines += [
            "",
            f"warehouse: {warehouse}",
            f"event log: {event_log}",
            "next: `make dev` (Dagster UI on http://127.0.0.1:3000), `make dashboard` "
            "(http://127.0.0.1:8501), or query the BI snapshot DATA_DIR/bi/customer_intel.duckdb",
        ]
        return "\n".join(lines)


def elapsed_since(started: float) -> float:
    return time.perf_counter() - started
