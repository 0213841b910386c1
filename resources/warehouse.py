"""The DuckDB warehouse: one writer at a time, read-only readers, and retry on a held lock.

DuckDB lets one process open a database file for writing; other processes may only open it
read-only while nobody writes. All writing assets share the Dagster pool ``duckdb_writer``
(limit 1, see dagster.yaml), and each opens the writer only for the duration of its write.
A run that uses this resource holds the warehouse's run lock for its whole duration
(``resources/run_lock.py``), so two runs never interleave their steps, and on taking it
marks runs whose process died as failed (``resources/run_recovery.py``).
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from dagster import Backoff, ConfigurableResource, EnvVar, InitResourceContext, Jitter, RetryPolicy
from pydantic import Field

from pipeline.settings import Settings
from resources.run_lock import hold_run_lock
from resources.run_recovery import recover_dead_runs

WRITER_POOL = "duckdb_writer"
# Writing steps meet transient faults: the file locked by another process beyond the lock
# timeout, the MLflow store briefly unavailable. Retry them with exponential backoff
# (about 5 s, then 10 s, +-50%) before the step fails.
WRITER_RETRY = RetryPolicy(
    max_retries=2, delay=5, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS
)

log = logging.getLogger(__name__)

_LOCK_MESSAGE = re.compile(r"(Conflicting lock|Could not set lock|lock on file)", re.IGNORECASE)
# DuckDB 2.0: 'IO Error: Could not set lock on file "/data/warehouse.duckdb": Conflicting lock
# is held in /usr/bin/python3.11 (PID 4242). See also https://duckdb.org/docs/...'
_HOLDER = re.compile(r"held in (?P<program>.+?) \(PID (?P<pid>\d+)\)|PID (?P<bare_pid>\d+)")


def lock_holder(message: str) -> tuple[str, int | None]:
    """('process 4242 (/usr/bin/python3.11)', 4242) from DuckDB's lock error message, else
    ('another process', None)."""
    match = _HOLDER.search(message)
    if not match:
        return "another process", None
    if match["pid"]:
        return f"process {match['pid']} ({match['program']})", int(match["pid"])
    return f"process {match['bare_pid']}", int(match["bare_pid"])


class WarehouseLockedError(RuntimeError):
    """The warehouse file stayed locked by another process for longer than the retry budget."""

    def __init__(self, message: str, holder_pid: int | None = None):
        super().__init__(message)
        self.holder_pid = holder_pid


def connect_with_retry(
    path: Path,
    *,
    read_only: bool,
    config: dict[str, str] | None = None,
    timeout_s: float = 60.0,
    first_wait_s: float = 0.5,
) -> duckdb.DuckDBPyConnection:
    """Open ``path``; while another process holds the lock, wait with exponential backoff.

    Raises WarehouseLockedError naming the holding process when the lock outlasts
    ``timeout_s``. Any other error is raised unchanged.
    """
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    deadline = started + timeout_s
    wait_s = first_wait_s
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only, config=config or {})
        except duckdb.IOException as error:
            message = str(error)
            if not _LOCK_MESSAGE.search(message):
                raise
            holder_text, holder_pid = lock_holder(message)
            remaining_s = deadline - time.monotonic()
            if remaining_s <= 0:
                raise WarehouseLockedError(
                    f"{path} is still locked by {holder_text} after "
                    f"{time.monotonic() - started:.1f} s (lock timeout {timeout_s:g} s); stop "
                    f"that process or wait for it to finish, then retry. DuckDB said: {message}",
                    holder_pid,
                ) from error
            sleep_s = min(wait_s, remaining_s)
            log.warning(
                "%s is locked by %s; retrying in %.1f s (giving up after %g s)",
                path,
                holder_text,
                sleep_s,
                timeout_s,
            )
            time.sleep(sleep_s)
            wait_s = min(wait_s * 2, 10.0)


class DuckDBWarehouse(ConfigurableResource):
    """The pipeline's working DuckDB database (``DATA_DIR/warehouse.duckdb`` by default)."""

    path: str = Field(
        default="",
        description="Database file; empty means DATA_DIR/warehouse.duckdb, read at run time.",
    )
    memory_limit: str = Field(
        default="", description="DuckDB memory_limit, e.g. '4GB'; empty keeps DuckDB's default."
    )
    threads: int = Field(default=0, description="DuckDB threads; 0 keeps DuckDB's default.")
    temp_directory: str = Field(
        default="", description="Where DuckDB spills; empty uses a folder beside the database."
    )
    lock_timeout_s: float = Field(
        default=120.0, description="How long to wait for another process's writer lock."
    )

    @property
    def database_path(self) -> Path:
        return Path(self.path) if self.path else Settings.from_env().warehouse_path

    @contextmanager
    def yield_for_execution(self, context: InitResourceContext) -> Iterator[DuckDBWarehouse]:
        """Hold the run lock while the run executes; first fail the runs that died."""
        warn = context.log.warning if context.log else log.warning
        with hold_run_lock(self.database_path, run_id=context.run_id, on_wait=warn):
            if context.instance is not None:
                for run in recover_dead_runs(context.instance, context.run_id):
                    warn(
                        f"run {run.run_id} ({run.job_name}) had died (pid {run.pid} is gone): "
                        "marked failed and its pool slots freed"
                    )
            yield self

    def _config(self) -> dict[str, str]:
        config: dict[str, str] = {}
        if self.memory_limit:
            config["memory_limit"] = self.memory_limit
        if self.threads:
            config["threads"] = str(self.threads)
        config["temp_directory"] = self.temp_directory or str(
            self.database_path.with_suffix(".tmp")
        )
        return config

    @contextmanager
    def _connection(self, read_only: bool) -> Iterator[duckdb.DuckDBPyConnection]:
        connection = connect_with_retry(
            self.database_path,
            read_only=read_only,
            config=self._config(),
            timeout_s=self.lock_timeout_s,
        )
        try:
            yield connection
        finally:
            connection.close()

    def writer(self):
        """A read-write connection (a context manager), closed on exit. Callers own their
        transactions."""
        return self._connection(read_only=False)

    def reader(self):
        """A read-only connection (a context manager), closed on exit."""
        return self._connection(read_only=True)


def _configured(name: str, default):
    """EnvVar(name) when the variable is set, so the UI's Resources tab shows where the value
    comes from; else the field's default (which resolves DATA_DIR at run time)."""
    if not os.environ.get(name):
        return default
    return EnvVar.int(name) if isinstance(default, int) else EnvVar(name)


def warehouse_from_env() -> DuckDBWarehouse:
    """The resource as configured by WAREHOUSE_PATH, DUCKDB_MEMORY_LIMIT, and DUCKDB_THREADS
    (the database defaults to DATA_DIR/warehouse.duckdb, resolved
    when a run opens it)."""
    Settings.from_env()  # a malformed DUCKDB_THREADS fails here, naming the variable
    return DuckDBWarehouse(
        path=_configured("WAREHOUSE_PATH", ""),
        memory_limit=_configured("DUCKDB_MEMORY_LIMIT", ""),
        threads=_configured("DUCKDB_THREADS", 0),
    )
