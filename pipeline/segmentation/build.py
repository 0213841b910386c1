"""Fit each segment model on the warehouse and write its table: what the assets call.

Each ``fit_*`` reads the per-customer features with one SQL query, fits the model and returns
a :class:`FittedSegments` (model, assignments, quality, centroids); ``write_segments`` writes
the table, stamped with the registered model version when the model was logged to MLflow.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from pipeline.catalog.writer import replace_table
from pipeline.segmentation.clustering import ClusterQuality, sorted_by_customer
from pipeline.segmentation.labels import value_style_label
from pipeline.segmentation.personas import PersonaSegmenter
from pipeline.segmentation.style import PurchaseStyleModel
from pipeline.segmentation.tracking import PERSONA_MODEL, STYLE_MODEL, VALUE_MODEL
from pipeline.segmentation.value import ValueSegmenter
from pipeline.segmentation.warehouse import (
    style_features,
    value_features,
    value_segments,
)

VALUE_TABLE = "segments.customer_value"
STYLE_TABLE = "segments.purchase_style"
PERSONA_TABLE = "segments.personas"


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


def fit_style_model(features: pd.DataFrame, values: pd.DataFrame) -> FittedSegments:
    """``values``: customer_id and value_segment (segments.customer_value), for the value x
    style label."""
    features = sorted_by_customer(features)
    model = PurchaseStyleModel().fit(features)
    assignments = model.assign(features)
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
    return FittedSegments(
        STYLE_TABLE,
        STYLE_MODEL,
        model,
        features,
        assignments,
        model.evaluate(features),
        model.centroid_table(),
    )


def fit_customer_value(connection: duckdb.DuckDBPyConnection) -> FittedSegments:
    return fit_value_model(value_features(connection))


def fit_personas(connection: duckdb.DuckDBPyConnection) -> FittedSegments:
    return fit_persona_model(value_features(connection))


def fit_purchase_style(connection: duckdb.DuckDBPyConnection) -> FittedSegments:
    return fit_style_model(style_features(connection), value_segments(connection))


def write_segments(
    connection: duckdb.DuckDBPyConnection, fitted: FittedSegments, model_version: str | None
) -> int:
    """Write the fitted table; ``model_version`` is the registered version (None when the
    model was not logged)."""
    rows = fitted.assignments.copy()
    rows["model_version"] = np.full(len(rows), model_version, dtype=object)
    return replace_table(connection, fitted.table, rows, order_by="customer_id")
