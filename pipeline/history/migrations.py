"""Who moved between snapshots: the migration marts and the queries the dashboard runs.

Every function reads ``history.customer_snapshots`` from the connection it is given: the
warehouse for the marts, the published BI snapshot for the dashboard (same table name).
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from pipeline.sql_files import SqlFiles
from pipeline.sql_text import one_row

# The labels whose moves are tracked (columns of history.customer_snapshots).
DIMENSIONS = ("value_segment", "persona", "rfm_segment", "churn_risk_band")
DEFAULT_COMPARISON_DAYS = 30
NEW_LABEL = "(new)"

SQL = SqlFiles(__package__)
TRANSITIONS_SQL = SQL.read("transitions.sql")
CUSTOMER_MOVEMENTS_SQL = SQL.read("customer_movements.sql")
SEGMENT_SIZES_SQL = SQL.read("segment_sizes.sql")


def snapshot_dates(connection: duckdb.DuckDBPyConnection) -> list[dt.date]:
    """The stored snapshot dates, oldest first."""
    rows = connection.execute(
        "SELECT DISTINCT snapshot_date FROM history.customer_snapshots ORDER BY 1"
    ).fetchall()
    return [day for (day,) in rows]


def default_comparison(
    connection: duckdb.DuckDBPyConnection, days: int = DEFAULT_COMPARISON_DAYS
) -> tuple[dt.date, dt.date] | None:
    """(from, to): the newest snapshot and the newest one at least ``days`` before it (the
    oldest one when none is that old); None with fewer than two snapshots."""
    dates = snapshot_dates(connection)
    if len(dates) < 2:
        return None
    newest = dates[-1]
    earlier = [d for d in dates if d <= newest - dt.timedelta(days=days)]
    return (earlier[-1] if earlier else dates[0]), newest


def _check_dimensions(dimensions: tuple[str, ...]) -> list[str]:
    unknown = [d for d in dimensions if d not in DIMENSIONS]
    if unknown:
        raise ValueError(f"unknown dimension(s) {unknown}: choose from {', '.join(DIMENSIONS)}")
    return list(dimensions)


def transition_matrix(
    connection: duckdb.DuckDBPyConnection,
    from_date: dt.date,
    to_date: dt.date,
    dimensions: tuple[str, ...] = DIMENSIONS,
) -> pd.DataFrame:
    """Customers, net spend and the share of the from-label per (dimension, from label, to
    label) between two stored snapshots."""
    return connection.execute(
        TRANSITIONS_SQL,
        {"from_date": from_date, "to_date": to_date, "dimensions": _check_dimensions(dimensions)},
    ).df()


def build_segment_transitions(
    connection: duckdb.DuckDBPyConnection, comparison: tuple[dt.date, dt.date] | None
) -> int:
    """marts.segment_transitions between ``comparison`` (from, to); empty (with its columns)
    when there is nothing to compare. Returns the rows written."""
    from_date, to_date = comparison if comparison else (None, None)
    connection.execute("CREATE SCHEMA IF NOT EXISTS marts")
    connection.execute(
        f"CREATE OR REPLACE TABLE marts.segment_transitions AS {TRANSITIONS_SQL}",
        {"from_date": from_date, "to_date": to_date, "dimensions": list(DIMENSIONS)},
    )
    (rows,) = one_row(connection, "SELECT count(*) FROM marts.segment_transitions")
    return int(rows)


def build_customer_movements(connection: duckdb.DuckDBPyConnection) -> int:
    """marts.customer_movements: each customer's latest move per dimension. Returns the
    rows written."""
    connection.execute(CUSTOMER_MOVEMENTS_SQL)
    (rows,) = one_row(connection, "SELECT count(*) FROM marts.customer_movements")
    return int(rows)


def segment_sizes(connection: duckdb.DuckDBPyConnection, dimension: str) -> pd.DataFrame:
    """Customers and net spend per snapshot date and label of ``dimension``."""
    _check_dimensions((dimension,))
    return connection.execute(SEGMENT_SIZES_SQL, {"dimension": dimension}).df()


def customer_timeline(connection: duckdb.DuckDBPyConnection, customer_id: str) -> pd.DataFrame:
    """One customer's snapshots, oldest first."""
    return connection.execute(
        """
        SELECT snapshot_date, recency_days, frequency, monetary, rfm_segment, value_segment,
               purchase_style, persona, churn_risk_pct, churn_risk_band,
               purchase_probability, action
        FROM history.customer_snapshots
        WHERE customer_id = $customer_id
        ORDER BY snapshot_date
        """,
        {"customer_id": customer_id},
    ).df()
