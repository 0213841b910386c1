"""Runs whose process died: marked failed, their pool slots freed.

A run killed with SIGKILL (or by the OOM killer, or a reboot) never reports its end: the
instance keeps it STARTED and it keeps its ``duckdb_writer`` slot, so every later run would
wait for that slot forever. Dagster's run monitoring cannot see it, because the default
run launcher (and ``execute_in_process``) offer no worker health check. So a run that takes
the writer lock (``resources/run_lock.py``) first looks at the other runs the instance
believes are in progress: a run whose process (the pid of its RUN_START event) is gone is
marked failed, with a message that says so, and its slots are freed.

Like DuckDB itself, this assumes the runs of one instance execute on one machine: the pid
of a run started elsewhere would say nothing here.
"""

from __future__ import annotations

from dataclasses import dataclass

from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter

from pipeline.processes import process_is_alive


@dataclass(frozen=True)
class RecoveredRun:
    run_id: str
    job_name: str
    pid: int


def _run_process(instance: DagsterInstance, run_id: str) -> tuple[int | None, float | None]:
    """The pid and time of the run's RUN_START event, if it has one."""
    records = instance.get_records_for_run(
        run_id, of_type=DagsterEventType.RUN_START, limit=1
    ).records
    if not records:
        return None, None
    entry = records[0].event_log_entry
    pid = entry.dagster_event.pid if entry.dagster_event else None
    return pid, entry.timestamp


def _dead_process(instance: DagsterInstance, run_id: str) -> int | None:
    """The pid of an unfinished run's process when that process is gone, else None (alive,
    or no process recorded)."""
    pid, started_at = _run_process(instance, run_id)
    if pid is None or process_is_alive(pid, started_by=started_at):
        return None
    return pid


def run_is_alive(instance: DagsterInstance, run_id: str) -> bool:
    """Whether the instance's run ``run_id`` may still be executing: not finished, and its
    process (if it recorded one) still running."""
    run = instance.get_run_by_id(run_id)
    return run is not None and not run.is_finished and _dead_process(instance, run_id) is None


def recover_dead_runs(instance: DagsterInstance, current_run_id: str | None) -> list[RecoveredRun]:
    """Mark the instance's in-progress runs whose process is gone as failed, and free the
    pool slots of every run that is not alive (a failed run's slots included); the current
    run and runs without a recorded process are left alone."""
    recovered = []
    in_progress = instance.get_runs(
        filters=RunsFilter(statuses=[DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING])
    )
    for run in in_progress:
        pid = None if run.run_id == current_run_id else _dead_process(instance, run.run_id)
        if pid is None:
            continue
        instance.report_run_failed(
            run,
            f"The process of this run (pid {pid}) is no longer running: it was killed or "
            "crashed without reporting its end. Marked failed by "
            f"{f'run {current_run_id}' if current_run_id else 'the dead_runs sensor'} so "
            "that its warehouse slot is released.",
        )
        recovered.append(RecoveredRun(run.run_id, run.job_name, pid))
    storage = instance.event_log_storage
    if storage.supports_global_concurrency_limits:
        for run_id in storage.get_concurrency_run_ids():
            if run_id != current_run_id and not run_is_alive(instance, run_id):
                storage.free_concurrency_slots_for_run(run_id)
    return recovered
