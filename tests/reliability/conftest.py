"""Helpers for the reliability suite: a warehouse that already holds a good file, the
invariants every fault must leave intact, and subprocess workers that can be killed."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from pipeline.cleaning import build_staging
from pipeline.ingest import IngestReport, ingest_landing
from resources.warehouse import DuckDBWarehouse
from tests.conftest import write_csv
from tests.reliability._worker import LATEST_VALID_TS

PROJECT = Path(__file__).resolve().parents[2]
BASE_FILE = "base_good.csv"
# Loaded before every bad file: purchases, a return and a row without a customer, so that
# every staging table holds something that must survive.
BASE_ROWS = [
    "581475,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/8/2011 8:26,2.55,17850.0,France",
    "581475,71053,WHITE METAL LANTERN,6,12/8/2011 8:26,3.39,17850,France",
    "581476,22633,HAND WARMER UNION JACK,6,12/8/2011 8:28,1.85,,United Kingdom",
    "C581479,D,Discount,-1,12/8/2011 9:41,27.5,14527,United Kingdom",
    "581477,84879,ASSORTED COLOUR BIRD ORNAMENT,32,12/8/2011 8:34,1.69,13047,United Kingdom",
]


def warehouse(path: Path, lock_timeout_s: float = 60.0) -> DuckDBWarehouse:
    return DuckDBWarehouse(path=str(path), lock_timeout_s=lock_timeout_s, threads=2)


def ingest(connection: duckdb.DuckDBPyConnection, landing: Path) -> IngestReport:
    return ingest_landing(connection, landing, landing.parent / "no_mappings.yaml")


def stage(connection: duckdb.DuckDBPyConnection):
    return build_staging(connection, non_product_codes=("POST",), latest_valid_ts=LATEST_VALID_TS)


def write_base(landing: Path) -> Path:
    return write_csv(landing / BASE_FILE, BASE_ROWS)


def rows(connection, sql: str, parameters: dict | None = None) -> list[tuple]:
    return connection.execute(sql, parameters or {}).fetchall()


def loaded_state(connection, files: list[str]) -> dict[str, list[tuple]]:
    """Every row that ``files`` contributed (raw, quarantine, ledger), to compare later."""
    names = {"files": files}
    return {
        table: rows(
            connection,
            f"SELECT * FROM raw.{table} WHERE {column} IN (SELECT unnest($files)) ORDER BY ALL",
            names,
        )
        for table, column in (
            ("transactions", "source_file"),
            ("quarantine", "source_file"),
            ("file_ledger", "file_path"),
        )
    }


# The ledger's name of a row's file: an archive's member 'export.zip!orders.csv' belongs to
# 'export.zip'.
ARCHIVE = "regexp_replace(source_file, '^(.*?[.][zZ][iI][pP])!.*$', '\\1')"


def assert_raw_invariants(connection) -> None:
    """The ledger and the raw tables agree: a 'loaded' file has exactly the rows the ledger
    says, no rows come from a file the ledger does not hold as loaded, no file is loaded
    twice, no source row appears twice, and rows read = raw + quarantine."""
    per_file = rows(
        connection,
        f"""
        WITH raw AS (SELECT {ARCHIVE} AS source_file, count(*) AS n
                     FROM raw.transactions GROUP BY 1),
             quarantine AS (SELECT {ARCHIVE} AS source_file, count(*) AS n
                            FROM raw.quarantine GROUP BY 1),
             ledger AS (SELECT * FROM raw.file_ledger WHERE status = 'loaded')
        SELECT coalesce(l.file_path, r.source_file, q.source_file) AS file,
               l.rows_read, l.rows_loaded, l.rows_quarantined,
               coalesce(r.n, 0), coalesce(q.n, 0)
        FROM ledger l
        FULL JOIN raw r ON r.source_file = l.file_path
        FULL JOIN quarantine q ON q.source_file = coalesce(l.file_path, r.source_file)
        ORDER BY 1
        """,
    )
    for file, read, loaded, quarantined, raw_n, quarantine_n in per_file:
        assert read is not None, f"{file}: rows in the raw tables but no 'loaded' ledger entry"
        assert (loaded, quarantined) == (raw_n, quarantine_n), (
            f"{file}: ledger says {loaded} loaded, {quarantined} quarantined; tables hold "
            f"{raw_n} and {quarantine_n}"
        )
        assert read == loaded + quarantined, f"{file}: rows read {read} != {loaded}+{quarantined}"
    twice = rows(
        connection,
        "SELECT file_path, count(*) FROM raw.file_ledger WHERE status = 'loaded' "
        "GROUP BY 1 HAVING count(*) > 1",
    )
    assert not twice, f"files loaded twice: {twice}"
    duplicated = rows(
        connection,
        "SELECT source_file, source_sheet, source_row, count(*) FROM raw.transactions "
        "GROUP BY ALL HAVING count(*) > 1 LIMIT 5",
    )
    assert not duplicated, f"source rows loaded twice: {duplicated}"


def assert_staging_accounts(connection) -> None:
    """raw = staging.transactions + staging.returns + staging.excluded."""
    raw, split = rows(
        connection,
        "SELECT (SELECT count(*) FROM raw.transactions), "
        "(SELECT count(*) FROM staging.transactions) + (SELECT count(*) FROM staging.returns)"
        " + (SELECT count(*) FROM staging.excluded)",
    )[0]
    assert raw == split, f"raw {raw} != transactions + returns + excluded {split}"


def fingerprint(connection) -> dict[str, object]:
    """What a finished run produced, to compare an interrupted-then-resumed run with a clean
    one: ledger outcomes, table sizes and aggregates (no timestamps of the run itself)."""
    return {
        "ledger": rows(
            connection,
            "SELECT file_path, content_hash, status, rows_read, rows_loaded, rows_quarantined "
            "FROM raw.file_ledger ORDER BY ALL",
        ),
        "raw": rows(
            connection,
            "SELECT source_file, count(*), sum(line_amount)::DECIMAL(18, 2), "
            "count(DISTINCT customer_id), min(invoice_ts), max(invoice_ts) "
            "FROM raw.transactions GROUP BY 1 ORDER BY 1",
        ),
        "quarantine": rows(
            connection, "SELECT source_file, reason, count(*) FROM raw.quarantine GROUP BY ALL"
        ),
        "staging": rows(
            connection,
            """
            SELECT 'transactions', count(*), sum(line_amount)::DECIMAL(18, 2),
                   count(DISTINCT customer_id) FROM staging.transactions
            UNION ALL SELECT 'returns', count(*), sum(line_amount)::DECIMAL(18, 2),
                   count(DISTINCT customer_id) FROM staging.returns
            UNION ALL SELECT 'excluded:' || rule, count(*), sum(line_amount)::DECIMAL(18, 2),
                   count(DISTINCT customer_id) FROM staging.excluded GROUP BY rule
            ORDER BY 1
            """,
        ),
    }


class Worker:
    """A ``tests.reliability._worker`` subprocess whose stdout lines are read as they come."""

    def __init__(self, *args: str, env: dict[str, str] | None = None):
        self.args = args
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.reliability._worker", *args],
            cwd=PROJECT,
            env=os.environ | {"PYTHONPATH": str(PROJECT)} | (env or {}),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._stderr: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()
        threading.Thread(
            target=lambda: self._stderr.extend(self.process.stderr), daemon=True
        ).start()

    def _pump(self) -> None:
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def stderr(self) -> str:
        return "".join(self._stderr)

    def expect(self, prefix: str, timeout: float = 60.0) -> str:
        """Wait for the first (further) stdout line starting with ``prefix``."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{self.args[0]}: no {prefix!r} within {timeout} s")
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                self.process.wait()
                raise AssertionError(
                    f"{self.args[0]} exited ({self.process.returncode}) before {prefix!r}; "
                    f"stdout {self.lines}; stderr:\n{self.stderr[-3000:]}"
                )
            self.lines.append(line)
            if line.startswith(prefix):
                return line

    def kill(self) -> None:
        """SIGKILL, as the OOM killer or a pulled plug would: no cleanup code runs."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        time.sleep(0.05)  # let the pump thread drain what was printed before the kill
        while True:
            try:
                line = self._queue.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.lines.append(line)

    def finish(self, timeout: float = 120.0) -> str:
        """Wait for a clean exit; returns the DONE line."""
        line = self.expect("DONE", timeout)
        assert self.process.wait(timeout=30) == 0, self.stderr[-3000:]
        return line

    def stop(self) -> None:
        if self.process.poll() is None:
            self.kill()


@pytest.fixture
def workers():
    """Workers started by a test; any still running at the end are killed."""
    started: list[Worker] = []

    def start(*args: str, env: dict[str, str] | None = None) -> Worker:
        worker = Worker(*args, env=env)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
