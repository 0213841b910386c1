"""How the segments look and, on generated demo data, how well they recover the truth.

The demo generator writes each customer's latent truth to DATA_DIR/demo/customer_truth.parquet
(is_bulk, is_anomalous, spend_observed, future_spend, ...). When that file exists the segment
assets report purchase-style precision/recall and how well value_score orders true spend.
All in DuckDB SQL over the written segment tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipeline.sql_files import SqlFiles
from pipeline.sql_text import one_row, qualified, quote_identifier

SQL = SqlFiles(__package__)
STYLE_RECOVERY_SQL = SQL.read("style_recovery.sql")


VALUE_ORDERING_SQL = SQL.read("value_ordering.sql")
SPEND_BY_SEGMENT_SQL = SQL.read("spend_by_segment.sql")


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


@dataclass(frozen=True)
class StyleRecovery:
    customers: int
    predicted_bulk: int
    true_bulk: int
    bulk_hits: int
    predicted_anomaly: int
    true_anomaly: int
    anomaly_hits: int

    @property
    def bulk_precision(self) -> float | None:
        return _ratio(self.bulk_hits, self.predicted_bulk)

    @property
    def bulk_recall(self) -> float | None:
        return _ratio(self.bulk_hits, self.true_bulk)

    @property
    def anomaly_precision(self) -> float | None:
        return _ratio(self.anomaly_hits, self.predicted_anomaly)

    @property
    def anomaly_recall(self) -> float | None:
        return _ratio(self.anomaly_hits, self.true_anomaly)

    def metrics(self) -> dict[str, float]:
        figures = {
            "bulk_precision": self.bulk_precision,
            "bulk_recall": self.bulk_recall,
            "anomaly_precision": self.anomaly_precision,
            "anomaly_recall": self.anomaly_recall,
        }
        return {key: value for key, value in figures.items() if value is not None}


def style_recovery(connection: duckdb.DuckDBPyConnection, truth_path: Path) -> StyleRecovery:
    """Bulk and Anomaly labels of segments.purchase_style against the demo truth."""
    row = one_row(connection, STYLE_RECOVERY_SQL, {"truth": str(truth_path)})
    return StyleRecovery(*(int(v) for v in row))


@dataclass(frozen=True)
class ValueOrdering:
    customers: int
    spearman_spend: float | None  # value_score vs true spend in the observed period
    spearman_future_spend: float | None  # vs true spend in the holdout window
    by_segment: list[tuple]  # one row per segment, see SPEND_BY_SEGMENT_HEADER

    def metrics(self) -> dict[str, float]:
        figures = {
            "spearman_value_score_true_spend": self.spearman_spend,
            "spearman_value_score_future_spend": self.spearman_future_spend,
        }
        return {key: round(value, 4) for key, value in figures.items() if value is not None}


SPEND_BY_SEGMENT_HEADER = (
    "segment",
    "customers",
    "mean true spend",
    "median true spend",
    "mean true future spend",
    "share alive at end",
)


def value_ordering(connection: duckdb.DuckDBPyConnection, truth_path: Path) -> ValueOrdering:
    """How well value_score orders the customers' true spend (Spearman), and the mean true
    spend per value segment."""
    parameters = {"truth": str(truth_path)}
    customers, spend, future = one_row(connection, VALUE_ORDERING_SQL, parameters)
    rows = connection.execute(SPEND_BY_SEGMENT_SQL, parameters).fetchall()
    return ValueOrdering(int(customers), spend, future, rows)


def segment_sizes(
    connection: duckdb.DuckDBPyConnection, table: str, column: str, labels: tuple[str, ...]
) -> list[tuple]:
    """Customers, share and mean R/F/M per label, in the order of ``labels`` (the SQL reads
    R/F/M from features.customer_rfm)."""
    rows = connection.execute(
        f"""
        SELECT s.{quote_identifier(column)} AS label, count(*) AS customers,
               round(count(*) / sum(count(*)) OVER (), 3) AS share,
               round(avg(f.recency_days), 1) AS recency_days,
               round(avg(f.frequency), 2) AS frequency,
               round(avg(f.monetary), 2) AS monetary
        FROM {qualified(table)} s
        JOIN features.customer_rfm f USING (customer_id)
        GROUP BY 1
        """
    ).fetchall()
    order = {label: i for i, label in enumerate(labels)}
    return sorted(rows, key=lambda row: order.get(row[0], len(order)))


SEGMENT_SIZES_HEADER = ("segment", "customers", "share", "recency_days", "frequency", "monetary")
