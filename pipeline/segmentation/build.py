"""Fit each segment model on the warehouse, label customers with it, write its table: what
the assets call.

Each ``fit_*`` reads the per-customer features with one SQL query, fits the model and returns
a :class:`FittedSegments` (model, assignments, quality, centroids): the training side, on
the retrain cadence. Each ``assign_*`` labels the customers of the warehouse with a model
already fitted (the registered champion) without refitting: the nightly side.
``write_segments`` / ``write_assignments`` write the table, stamped with the registered
model version. Both sides label through the model's own ``assign``, so a table written from
a fit equals one written by its champion on the same features.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from pipeline.catalog.writer import replace_table
from pipeline.segmentation.clustering import ClusterQuality, sorted_by_customer
from pipeline.segmentation.labels import (
    PERSONAS,
    PURCHASE_STYLES,
    VALUE_SEGMENTS,
    value_style_label,
)
from pipeline.segmentation.personas import PersonaSegmenter
from pipeline.segmentation.style import PurchaseStyleModel
from pipeline.segmentation.tracking import PERSONA_MODEL, STYLE_MODEL, VALUE_MODEL
from pipeline.segmentation.value import ValueSegmenter
from pipeline.segmentation.warehouse import (
    style_features,
    value_features,
    value_segments,
)
from pipeline.sql_text import qualified, quote_identifier

VALUE_TABLE = "segments.customer_value"
STYLE_TABLE = "segments.purchase_style"
PERSONA_TABLE = "segments.personas"
# The purchase-style features also read the lines (pipeline/segmentation/warehouse.py).
STYLE_INPUT_TABLES = ("staging.transactions", "staging.returns")


@dataclass
class FittedSegments:
    table: str
    model_name: str
    model: object  # ValueSegmenter | PurchaseStyleModel | PersonaSegmenter
    features: pd.DataFrame  # the per-customer inputs, sorted by customer_id
    assignments: pd.DataFrame  # the table's rows (model_version still empty)
    quality: ClusterQuality
    centroids: pd.DataFrame


def fit_value_model(features: pd.DataFrame) -> FittedSegments:
    features = sorted_by_customer(features)
    model = ValueSegmenter().fit(features)
    return FittedSegments(
        VALUE_TABLE,
        VALUE_MODEL,
        model,
        features,
        model.assign(features),
        model.evaluate(features),
        model.centroid_table(),
    )


def fit_persona_model(features: pd.DataFrame) -> FittedSegments:
    features = sorted_by_customer(features)
    model = PersonaSegmenter().fit(features)
    return FittedSegments(
        PERSONA_TABLE,
        PERSONA_MODEL,
        model,
        features,
        model.assign(features),
        model.evaluate(features),
        model.centroid_table(),
    )


def with_value_style_labels(assignments: pd.DataFrame, values: pd.DataFrame) -> pd.DataFrame:
    """``assignments`` of the purchase-style model with each customer's value segment and
    the value x style label. ``values``: customer_id and value_segment
    (segments.customer_value)."""
    value_by_customer = dict(zip(values["customer_id"], values["value_segment"], strict=True))
    missing = [c for c in assignments["customer_id"] if c not in value_by_customer]
    if missing:
        raise ValueError(
            f"{len(missing)} customer(s) have no value segment (e.g. {missing[0]!r}): "
            "materialize segments.customer_value first"
        )
    assignments["value_segment"] = [value_by_customer[c] for c in assignments["customer_id"]]
    assignments["value_style_label"] = [
        value_style_label(v, s)
        for v, s in zip(assignments["value_segment"], assignments["purchase_style"], strict=True)
    ]
    return assignments


def fit_style_model(features: pd.DataFrame, values: pd.DataFrame | None) -> FittedSegments:
    """``values``: customer_id and value_segment (segments.customer_value), for the value x
    style label; None leaves the assignments without it (a fit for the registry alone)."""
    features = sorted_by_customer(features)
    model = PurchaseStyleModel().fit(features)
    assignments = model.assign(features)
    return FittedSegments(
        STYLE_TABLE,
        STYLE_MODEL,
        model,
        features,
        assignments if values is None else with_value_style_labels(assignments, values),
        model.evaluate(features),
        model.centroid_table(),
    )


def fit_customer_value(connection: duckdb.DuckDBPyConnection) -> FittedSegments:
    return fit_value_model(value_features(connection))


def fit_personas(connection: duckdb.DuckDBPyConnection) -> FittedSegments:
    return fit_persona_model(value_features(connection))


def fit_purchase_style(
    connection: duckdb.DuckDBPyConnection, *, value_labels: bool = True
) -> FittedSegments:
    """``value_labels=False``: without the value x style label, so without reading
    segments.customer_value (training runs before that table is rebuilt)."""
    values = value_segments(connection) if value_labels else None
    return fit_style_model(style_features(connection), values)


def train_purchase_style(connection: duckdb.DuckDBPyConnection) -> FittedSegments:
    return fit_purchase_style(connection, value_labels=False)


def assign_on_value_features(connection: duckdb.DuckDBPyConnection, model) -> pd.DataFrame:
    """segments.customer_value's or segments.personas' rows from a fitted ValueSegmenter or
    PersonaSegmenter (no refit): both label the R, F, M and order-value features."""
    return model.assign(sorted_by_customer(value_features(connection)))


def assign_purchase_style(connection: duckdb.DuckDBPyConnection, model) -> pd.DataFrame:
    """segments.purchase_style's rows from a fitted PurchaseStyleModel (no refit); reads
    segments.customer_value for the value x style label."""
    assignments = model.assign(sorted_by_customer(style_features(connection)))
    return with_value_style_labels(assignments, value_segments(connection))


@dataclass(frozen=True)
class SegmentTable:
    """A segment table and its model: how to fit one, and how to label with one."""

    table: str
    model_name: str
    label_column: str
    labels: tuple[str, ...]  # the label vocabulary, in display order
    fit: Callable[[duckdb.DuckDBPyConnection], FittedSegments]  # reads only the features
    assign: Callable[[duckdb.DuckDBPyConnection, object], pd.DataFrame]
    # What the features read besides features.customer_rfm.
    inputs: tuple[str, ...] = ()
    assessed_column: str | None = None  # whether the model could judge each customer


SEGMENT_TABLES = {
    segment.table: segment
    for segment in (
        SegmentTable(
            VALUE_TABLE,
            VALUE_MODEL,
            "value_segment",
            VALUE_SEGMENTS,
            fit_customer_value,
            assign_on_value_features,
        ),
        SegmentTable(
            STYLE_TABLE,
            STYLE_MODEL,
            "purchase_style",
            PURCHASE_STYLES,
            train_purchase_style,
            assign_purchase_style,
            inputs=STYLE_INPUT_TABLES,
            assessed_column="style_assessed",
        ),
        SegmentTable(
            PERSONA_TABLE,
            PERSONA_MODEL,
            "persona",
            PERSONAS,
            fit_personas,
            assign_on_value_features,
        ),
    )
}


def label_sizes(connection: duckdb.DuckDBPyConnection, segment: SegmentTable) -> dict[str, int]:
    """Customers per label in ``segment``'s table."""
    rows = connection.execute(
        f"SELECT {quote_identifier(segment.label_column)}, count(*) "
        f"FROM {qualified(segment.table)} GROUP BY 1"
    ).fetchall()
    return {str(label): int(count) for label, count in rows}


def assessed_share(connection: duckdb.DuckDBPyConnection, segment: SegmentTable) -> float | None:
    """The share of ``segment``'s customers its model could judge (None: it judges all)."""
    if segment.assessed_column is None:
        return None
    (share,) = connection.execute(
        f"SELECT coalesce(avg({quote_identifier(segment.assessed_column)}::DOUBLE), 0) "
        f"FROM {qualified(segment.table)}"
    ).fetchone()
    return float(share)


def write_assignments(
    connection: duckdb.DuckDBPyConnection,
    table: str,
    assignments: pd.DataFrame,
    model_version: str | None,
) -> int:
    """Write a segment table; ``model_version`` is the registered version of the model that
    labelled it (None when the model was not logged)."""
    rows = assignments.copy()
    rows["model_version"] = np.full(len(rows), model_version, dtype=object)
    return replace_table(connection, table, rows, order_by="customer_id")


def write_segments(
    connection: duckdb.DuckDBPyConnection, fitted: FittedSegments, model_version: str | None
) -> int:
    """Write the fitted table (see :func:`write_assignments`)."""
    return write_assignments(connection, fitted.table, fitted.assignments, model_version)
