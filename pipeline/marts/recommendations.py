"""marts.product_recommendations: the product categories to recommend to each customer."""

from __future__ import annotations

import duckdb

from pipeline.sql_files import SqlFiles

SQL = SqlFiles(__package__)
DEFAULT_THRESHOLD = 0.7


def build_recommendations(
    connection: duckdb.DuckDBPyConnection, threshold: float = DEFAULT_THRESHOLD
) -> None:
    """Write marts.product_recommendations from scores.product_propensity: every category
    whose probability reaches ``threshold``, ranked per customer."""
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], got {threshold}")
    connection.execute("CREATE SCHEMA IF NOT EXISTS marts")
    connection.execute(SQL.read("product_recommendations.sql"), {"threshold": threshold})
