"""Customers and segments as the API answers them, from one snapshot generation.

When a generation opens, :func:`load_customers` builds every customer's answer to
``GET /customers/{id}`` in one query (customer_profile.sql) and keeps it as JSON bytes, so a
lookup is a dictionary read: no query, no serialisation. That costs about 2-4 KB of memory
per customer. Segment lists are queried per request (they are paged and filtered).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import pandas as pd

from pipeline.serving.snapshot import Generation
from pipeline.sql_files import SqlFiles

PROFILE_SQL = SqlFiles(__package__).read("customer_profile.sql")
SEGMENT_TYPES = (
    "value_segment",
    "purchase_style",
    "value_style_label",
    "persona",
    "rfm_segment",
    "action",
)
SEGMENT_CUSTOMER_COLUMNS = (
    "customer_id",
    "country",
    "recency_days",
    "frequency",
    "monetary",
    "rfm_segment",
    "value_segment",
    "purchase_style",
    "value_style_label",
    "persona",
    "churn_risk_pct",
    "churn_risk_band",
    "purchase_probability",
    "expected_orders",
    "expected_spend",
    "action",
    "action_channel",
    "action_priority",
)


class UnknownSegment(LookupError):
    pass


class AmbiguousSegment(LookupError):
    pass


@dataclass(frozen=True)
class SnapshotSummary:
    published_at: dt.datetime | None
    run_id: str
    customers: int
    features_as_of: dt.datetime | None


def load_customers(generation: Generation) -> None:
    """The loader of a generation: every customer's profile, and the snapshot's identity."""
    cursor = generation.cursor()
    try:
        info = cursor.execute(
            "SELECT any_value(published_at), any_value(run_id) FROM snapshot_info"
        ).fetchone()
        published_at, run_id = info if info else (None, "")
        rows = cursor.execute(PROFILE_SQL, {"published_at": published_at}).fetchall()
        (as_of,) = cursor.execute("SELECT max(as_of) FROM features.customer_rfm").fetchone()
    finally:
        cursor.close()
    generation.loaded["profiles"] = {cid: text.encode() for cid, text in rows}
    generation.loaded["summary"] = SnapshotSummary(published_at, run_id or "", len(rows), as_of)


def profile(generation: Generation, customer_id: str) -> bytes | None:
    return generation.loaded["profiles"].get(customer_id.strip())


def summary(generation: Generation) -> SnapshotSummary:
    return generation.loaded["summary"]


def segments(generation: Generation) -> pd.DataFrame:
    """segment_type, segment, customers, revenue, ... from marts.segment_summary."""
    cursor = generation.cursor()
    try:
        return cursor.execute(
            "FROM marts.segment_summary ORDER BY segment_type, customers DESC, segment"
        ).df()
    finally:
        cursor.close()


def _segment_type(cursor: duckdb.DuckDBPyConnection, name: str, segment_type: str | None) -> str:
    types = [
        t
        for (t,) in cursor.execute(
            "SELECT DISTINCT segment_type FROM marts.segment_summary WHERE segment = $name "
            "ORDER BY 1",
            {"name": name},
        ).fetchall()
        if t in SEGMENT_TYPES
    ]
    if segment_type is not None:
        if segment_type not in types:
            raise UnknownSegment(f"no segment {name!r} of type {segment_type!r}")
        return segment_type
    if not types:
        raise UnknownSegment(f"no segment named {name!r}: GET /segments lists them")
    if len(types) > 1:
        raise AmbiguousSegment(
            f"segment {name!r} exists as {', '.join(types)}: choose one with ?type="
        )
    return types[0]


def segment_customers(
    generation: Generation, name: str, segment_type: str | None, limit: int, offset: int
) -> tuple[str, int, pd.DataFrame]:
    """(segment type, customers in the segment, one page of them ordered by customer_id)."""
    cursor = generation.cursor()
    try:
        column = _segment_type(cursor, name, segment_type)  # one of SEGMENT_TYPES
        where = f"WHERE {column} = $name"
        (total,) = cursor.execute(
            f"SELECT count(*) FROM marts.customer_segments {where}", {"name": name}
        ).fetchone()
        page = cursor.execute(
            f"SELECT {', '.join(SEGMENT_CUSTOMER_COLUMNS)} FROM marts.customer_segments "
            f"{where} ORDER BY customer_id LIMIT $limit OFFSET $offset",
            {"name": name, "limit": limit, "offset": offset},
        ).df()
    finally:
        cursor.close()
    return column, int(total), page
