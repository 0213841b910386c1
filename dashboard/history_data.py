"""The History page's reads of the published snapshot: stored dates, the transition matrix
between two of them, segment sizes over time, and one customer's timeline.

The queries are the pipeline's own (pipeline/history/migrations.py) run on the snapshot's
copy of history.customer_snapshots, read-only, one short-lived connection per call.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from dashboard.data import TableMissing, connect
from pipeline.history import (
    default_comparison,
    segment_sizes,
    snapshot_dates,
    transition_matrix,
)
from pipeline.history.migrations import customer_timeline

HISTORY = "history.customer_snapshots"
DIMENSION_TITLES = {
    "value_segment": "Value segment",
    "persona": "Persona",
    "rfm_segment": "RFM segment",
    "churn_risk_band": "Churn risk band",
}


def _require_history(connection) -> None:
    (present,) = connection.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'history' "
        "AND table_name = 'customer_snapshots'"
    ).fetchone()
    if not present:
        raise TableMissing(HISTORY)


def stored_dates(path: Path) -> tuple[list[dt.date], tuple[dt.date, dt.date] | None]:
    """The snapshot dates, oldest first, and the default comparison (newest vs 30 days
    before)."""
    with connect(path) as connection:
        _require_history(connection)
        return snapshot_dates(connection), default_comparison(connection)


def transitions(path: Path, from_date: dt.date, to_date: dt.date, dimension: str) -> pd.DataFrame:
    """from_label, to_label, customers, revenue, revenue_between, share_of_from."""
    with connect(path) as connection:
        _require_history(connection)
        matrix = transition_matrix(connection, from_date, to_date, (dimension,))
    return matrix.drop(columns=["dimension", "from_date", "to_date"])


def sizes_over_time(path: Path, dimension: str) -> pd.DataFrame:
    """snapshot_date, label, customers, revenue."""
    with connect(path) as connection:
        _require_history(connection)
        return segment_sizes(connection, dimension).drop(columns=["dimension"])


def timeline(path: Path, customer_id: str) -> pd.DataFrame:
    """One customer's snapshots, oldest first (empty when the history does not hold them)."""
    with connect(path) as connection:
        _require_history(connection)
        return customer_timeline(connection, customer_id)


def moved(matrix: pd.DataFrame) -> int:
    """Customers whose label changed (newcomers excluded)."""
    changed = (matrix["from_label"] != matrix["to_label"]) & (matrix["from_label"] != "(new)")
    return int(matrix.loc[changed, "customers"].sum())
