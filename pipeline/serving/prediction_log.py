"""The API's own prediction log: a SQLite file under DATA_DIR, append-only, folded into
marts.prediction_log by the refresh.

The warehouse has one writer at a time, and a refresh holds it for minutes. A request that
scores a customer must neither wait for it nor lose its prediction when it cannot get it, so
the API appends to a log of its own, DATA_DIR/api/prediction_log.sqlite:

* SQLite in WAL mode with ``synchronous=FULL``: an append is on disk when the request
  returns, readers never block the appender, and several API processes can append at once
  (SQLite serialises them for a few milliseconds, never for a refresh);
* one row per input (``input_key`` is unique): the same input submitted twice, even by two
  requests at the same moment, is logged once and both get the logged prediction;
* nothing is updated or deleted.

The refresh (asset marts.prediction_log) folds the log into the warehouse with
:func:`fold_into_warehouse`: rows whose input_key is not in marts.prediction_log yet are
appended, so folding again adds nothing.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import weakref
from collections.abc import Iterable
from pathlib import Path

import duckdb
import pandas as pd

from pipeline.live_scoring import append_predictions, ensure_prediction_log

RELATIVE_PATH = Path("api") / "prediction_log.sqlite"
TIMESTAMP_COLUMNS = ("predicted_at", "predicted_at_local", "features_as_of")

SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS predictions (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    input_key     TEXT NOT NULL UNIQUE,
    prediction_id TEXT NOT NULL,
    customer_id   TEXT NOT NULL,
    predicted_at  TEXT NOT NULL,
    record        TEXT NOT NULL  -- the marts.prediction_log row, as JSON
)
"""


def log_path(data_dir: Path) -> Path:
    """DATA_DIR/api/prediction_log.sqlite."""
    return data_dir / RELATIVE_PATH


def row_records(rows: pd.DataFrame) -> list[dict]:
    """The rows of live_scoring.score_customers as JSON-ready dicts (timestamps in ISO 8601,
    missing values as null)."""
    return json.loads(rows.to_json(orient="records", date_format="iso", date_unit="us"))


def stored_record(record: dict) -> dict:
    """A record of :func:`row_records` as :meth:`PredictionLog.logged` returns it once
    appended, without reading it back: the log keeps its JSON with sorted keys, and its
    values are JSON's own already (flat: strings, numbers, null, lists of strings), so
    reading that JSON gives the same values in key order."""
    return dict(sorted(record.items()))


def _record_json(record: dict) -> str:
    return json.dumps(record, sort_keys=True)


class _Connection(sqlite3.Connection):
    """A connection that can be referenced weakly: the log closes the ones still open at
    :meth:`PredictionLog.close`, and a thread's connection is closed by the garbage
    collector once the thread has ended (no connection outlives its thread for long)."""


class PredictionLog:
    """Append-only prediction log in one SQLite file (see the module docstring).

    Each thread keeps one connection to it, opened on first use: closing the last
    connection of a WAL database checkpoints it (copies the WAL back and syncs the file),
    which cost more than a request's appends when every call opened and closed its own.
    :meth:`close` closes them all (the API does at shutdown)."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._opened: weakref.WeakSet[_Connection] = weakref.WeakSet()
        self._lock = threading.Lock()
        connection = self._connection()
        with connection:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute(SCHEMA_SQL)

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection (used by this thread only; ``check_same_thread`` is
        off so that :meth:`close` can close it from another)."""
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(
                self.path, timeout=30, check_same_thread=False, factory=_Connection
            )
            connection.execute("PRAGMA synchronous=FULL")
            self._local.connection = connection
            with self._lock:
                self._opened.add(connection)
        return connection

    def close(self) -> None:
        with self._lock:
            opened, self._opened = list(self._opened), weakref.WeakSet()
        for connection in opened:
            connection.close()
        self._local = threading.local()

    def logged(self, input_keys: Iterable[str]) -> dict[str, dict]:
        """input_key -> logged record, for the keys already in the log."""
        keys = list(dict.fromkeys(input_keys))
        found: dict[str, dict] = {}
        connection = self._connection()
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for key, record in connection.execute(
                f"SELECT input_key, record FROM predictions WHERE input_key IN ({marks})",
                chunk,
            ):
                found[key] = json.loads(record)
        return found

    def append(self, records: list[dict]) -> int:
        """Append the records whose input_key is not logged yet; returns how many were new.
        One transaction: all of them are on disk, or none."""
        connection = self._connection()
        with connection:
            before = connection.total_changes
            connection.executemany(
                "INSERT OR IGNORE INTO predictions "
                "(input_key, prediction_id, customer_id, predicted_at, record) "
                "VALUES (?, ?, ?, ?, ?)",
                [
                    (
                        r["input_key"],
                        r["prediction_id"],
                        r["customer_id"],
                        r["predicted_at"],
                        _record_json(r),
                    )
                    for r in records
                ],
            )
            return connection.total_changes - before

    def count(self) -> int:
        return self._connection().execute("SELECT count(*) FROM predictions").fetchone()[0]

    def latest(self, limit: int) -> list[dict]:
        """The ``limit`` most recently logged records, newest first."""
        return [
            json.loads(record)
            for (record,) in self._connection().execute(
                "SELECT record FROM predictions ORDER BY seq DESC LIMIT ?", (int(limit),)
            )
        ]

    def records(self) -> list[dict]:
        """Every logged record, oldest first."""
        return [
            json.loads(record)
            for (record,) in self._connection().execute(
                "SELECT record FROM predictions ORDER BY seq"
            )
        ]


def records_frame(records: list[dict]) -> pd.DataFrame:
    """Records as rows of marts.prediction_log (timestamps typed again)."""
    frame = pd.DataFrame.from_records(records)
    for column in TIMESTAMP_COLUMNS:
        if column in frame:
            frame[column] = pd.to_datetime(frame[column])
    return frame


def fold_into_warehouse(connection: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Append to marts.prediction_log the API's predictions it does not hold yet; returns
    how many were appended (0 on a second fold of the same log)."""
    ensure_prediction_log(connection)
    if not path.exists():
        return 0
    log = PredictionLog(path)
    try:
        records = log.records()
    finally:
        log.close()
    if not records:
        return 0
    return append_predictions(connection, records_frame(records))
