"""MLflow for the segment models: log, register, promote, and label new customers later.

Each fitted segmenter (scaler + k-means Pipelines, the isolation forest, and the cluster ->
label mapping, all in one scikit-learn estimator) is logged with the sklearn flavour in the
skops format (no pickle), with its parameters, quality figures and centroid table, and
registered under its model name. Segments describe the current customer base and have no
out-of-time score to compete on, so the newest fit always becomes the champion
(``champion_value=None``); the previous champion stays in the registry as an older version.

``assign_segments`` loads the three champions (``models:/NAME@champion``) and labels
customers without refitting.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from pipeline.model_registry import PromotionDecision, load_champion, register_and_maybe_promote
from pipeline.modelling.tracking import LoggedModel, pip_requirements, point_mlflow_at
from pipeline.segmentation.clustering import ClusterQuality
from pipeline.segmentation.labels import value_style_label

if TYPE_CHECKING:
    from mlflow import MlflowClient

VALUE_MODEL = "customer_value_segments"
STYLE_MODEL = "purchase_style_segments"
PERSONA_MODEL = "customer_personas"
SEGMENT_MODELS = (VALUE_MODEL, STYLE_MODEL, PERSONA_MODEL)

# skops refuses to load types it was not told to trust: our estimators, by import path, and
# the tree storage of the isolation forest (its node indices are not bounds-checked, which
# matters only for files from elsewhere; these files are written by this pipeline).
TRUSTED_TYPES = [
    "pipeline.segmentation.value.ValueSegmenter",
    "pipeline.segmentation.personas.PersonaSegmenter",
    "pipeline.segmentation.style.PurchaseStyleModel",
    "sklearn.tree._tree.Tree",
]


@dataclass(frozen=True)
class RegisteredSegmentModel:
    """A segment model logged in an MLflow run and registered (see the module docstring)."""

    logged: LoggedModel
    decision: PromotionDecision
    seconds: float

    @property
    def model_name(self) -> str:
        return self.decision.model_name

    @property
    def version(self) -> str:
        return self.decision.version

    @property
    def promoted(self) -> bool:
        return self.decision.promoted

    @property
    def summary(self) -> str:
        verdict = "now the champion" if self.promoted else "registered, champion unchanged"
        return f"{self.model_name} v{self.version} ({verdict}; MLflow run {self.logged.run_id})"


def _params(model) -> dict[str, str]:
    params = {key: str(value) for key, value in model.get_params().items()}
    params["estimator"] = type(model).__name__
    params["label_mapping"] = json.dumps(model.label_mapping())
    return params


def log_segment_model(
    client: MlflowClient,
    model,
    *,
    model_name: str,
    quality: ClusterQuality,
    centroids: pd.DataFrame,
    extra_params: dict[str, object] | None = None,
    extra_metrics: dict[str, float] | None = None,
    tags: dict[str, str] | None = None,
) -> RegisteredSegmentModel:
    """Log ``model`` into the active MLflow run and register it as the new champion."""
    import mlflow
    import mlflow.sklearn

    started = time.perf_counter()
    run = mlflow.active_run()
    if run is None:
        raise RuntimeError("log_segment_model needs an active MLflow run (ModelTracking.run)")
    params = _params(model)
    params.update({key: str(value) for key, value in (extra_params or {}).items()})
    mlflow.log_params(params)
    metrics = quality.metrics()
    metrics.update(extra_metrics or {})
    mlflow.log_metrics({k: float(v) for k, v in metrics.items() if v == v})  # drop NaN
    mlflow.log_text(centroids.to_csv(index=False), "centroids.csv")
    mlflow.log_dict(model.label_mapping(), "label_mapping.json")
    info = mlflow.sklearn.log_model(
        model,
        name="model",
        serialization_format="skops",
        skops_trusted_types=TRUSTED_TYPES,
        pip_requirements=pip_requirements(),
    )
    value = quality.silhouette if quality.silhouette is not None else float("nan")
    decision = register_and_maybe_promote(
        client,
        info.model_uri,
        model_name,
        metric="silhouette",
        value=value,
        champion_value=None,
        higher_is_better=True,
        tags=tags,
    )
    return RegisteredSegmentModel(
        logged=LoggedModel(run.info.run_id, info.model_uri, mlflow.get_artifact_uri()),
        decision=decision,
        seconds=time.perf_counter() - started,
    )


def load_champion_estimator(model_name: str):
    """The champion estimator of ``model_name`` in the current MLflow registry."""
    from mlflow import MlflowClient

    return load_champion(MlflowClient(), model_name)[0]


def assign_segments(
    features_frame: pd.DataFrame, tracking_uri: str | None = None, models: tuple | None = None
) -> pd.DataFrame:
    """Label customers with the champion segment models, without refitting.

    ``features_frame`` has one row per customer with customer_id and the columns of
    features.customer_rfm (at least recency_days, frequency, monetary, avg_order_value);
    with the purchase-style inputs too (pipeline.segmentation.warehouse.style_features) it
    also gets a purchase style and the value x style label, otherwise those stay null.
    ``tracking_uri`` points MLflow at a tracking/registry store (default: the current one).
    ``models``: the (value, persona, style) champions already loaded, so a caller that
    labels often (the HTTP API) loads them once.
    """

    if tracking_uri:
        point_mlflow_at(tracking_uri)
    frame = features_frame.reset_index(drop=True)
    value_model, persona_model, style_model = models or (
        load_champion_estimator(VALUE_MODEL),
        load_champion_estimator(PERSONA_MODEL),
        None,
    )
    result = value_model.assign(frame)[["customer_id", "value_segment", "value_score"]]
    result["persona"] = persona_model.predict(frame)
    if all(column in frame.columns for column in ("quantity_lines", "median_units_per_line")):
        if style_model is None:
            style_model = load_champion_estimator(STYLE_MODEL)
        style = style_model.assign(frame)
        result["purchase_style"] = style["purchase_style"].to_numpy()
        result["style_reason"] = style["style_reason"].to_numpy()
    else:
        result["purchase_style"] = np.full(len(frame), None, dtype=object)
        result["style_reason"] = np.full(len(frame), None, dtype=object)
    result["value_style_label"] = [
        value_style_label(v, s)
        for v, s in zip(result["value_segment"], result["purchase_style"], strict=True)
    ]
    return result
