"""Standardize-then-k-means segmenters that carry their own cluster labels.

A :class:`ClusterSegmenter` is a small scikit-learn estimator: ``fit`` takes the
per-customer feature frame, builds log features, fits a ``StandardScaler -> KMeans``
Pipeline and names every cluster from its centroid (never from its id, which is an accident
of the initialisation); ``predict`` returns the names. The fitted object is what MLflow
stores, so the label mapping always travels with the model.

Determinism: rows are sorted by customer_id before fitting, inputs are rounded to 6 decimals
(DuckDB's parallel sums may differ in the last bits between runs), and KMeans uses a fixed
``random_state`` and ``n_init``. The same customers therefore always get the same labels,
in whatever order the rows arrive.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.cluster import KMeans
from sklearn.metrics import davies_bouldin_score, silhouette_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from pipeline.threads import single_thread

RANDOM_STATE = 0
N_INIT = 10
# Silhouette is quadratic in the number of customers: above this many it is estimated on a
# fixed random sample of this size.
SILHOUETTE_SAMPLE = 5000
INPUT_DECIMALS = 6


def sorted_by_customer(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows in customer_id order (stable), so fitting never depends on the input order."""
    if "customer_id" not in frame.columns:
        return frame.reset_index(drop=True)
    return frame.sort_values("customer_id", kind="stable").reset_index(drop=True)


def log_features(frame: pd.DataFrame, columns: tuple[str, ...]) -> np.ndarray:
    """log1p of each column, negatives clipped to 0 first (net spend can be negative when
    returns exceed purchases), nulls as 0, rounded so summation noise cannot move a label."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"the feature frame lacks column(s): {', '.join(missing)}")
    values = frame.loc[:, list(columns)].astype("float64").to_numpy(na_value=0.0)
    return np.log1p(np.clip(np.round(values, INPUT_DECIMALS), 0.0, None))


def kmeans_pipeline(n_clusters: int, random_state: int, n_init: int) -> Pipeline:
    return Pipeline(
        [
            ("scale", StandardScaler()),
            ("kmeans", KMeans(n_clusters=n_clusters, n_init=n_init, random_state=random_state)),
        ]
    )


@dataclass(frozen=True)
class ClusterQuality:
    """How well separated the clusters are, for MLflow and the asset metadata."""

    n_customers: int
    n_clusters: int
    silhouette: float | None  # -1..1, higher is better; None with one cluster
    davies_bouldin: float | None  # >= 0, lower is better
    inertia: float
    sizes: dict[str, int] = field(default_factory=dict)  # customers per label

    def metrics(self) -> dict[str, float]:
        """Numeric figures for mlflow.log_metrics (undefined ones left out)."""
        figures: dict[str, float] = {
            "n_customers": float(self.n_customers),
            "n_clusters": float(self.n_clusters),
            "inertia": float(self.inertia),
        }
        if self.silhouette is not None:
            figures["silhouette"] = self.silhouette
        if self.davies_bouldin is not None:
            figures["davies_bouldin"] = self.davies_bouldin
        for label, size in self.sizes.items():
            figures[f"size_{metric_key(label)}"] = float(size)
        return figures


def metric_key(label: str) -> str:
    """A label as an MLflow metric name part: 'New Customers' -> 'new_customers'."""
    return "_".join("".join(ch if ch.isalnum() else " " for ch in label).lower().split())


def cluster_quality(
    standardized: np.ndarray, clusters: np.ndarray, labels: list[str], inertia: float
) -> ClusterQuality:
    n, k = len(clusters), len(set(clusters.tolist()))
    silhouette = davies_bouldin = None
    if 2 <= k <= n - 1:
        sample = SILHOUETTE_SAMPLE if n > SILHOUETTE_SAMPLE else None
        silhouette = float(
            silhouette_score(standardized, clusters, sample_size=sample, random_state=0)
        )
        davies_bouldin = float(davies_bouldin_score(standardized, clusters))
    names = np.asarray(labels, dtype=object)[clusters]
    sizes = {label: int((names == label).sum()) for label in labels}
    return ClusterQuality(n, k, silhouette, davies_bouldin, float(inertia), sizes)


class ClusterSegmenter(BaseEstimator):
    """Log features -> StandardScaler -> KMeans, and a name per cluster.

    Subclasses set ``feature_columns`` and implement ``_label_clusters`` (centroids in
    standardized space -> one label per cluster id).
    """

    feature_columns: tuple[str, ...] = ()

    def __init__(self, n_clusters: int = 3, random_state: int = RANDOM_STATE, n_init: int = N_INIT):
        self.n_clusters = n_clusters
        self.random_state = random_state
        self.n_init = n_init

    # -- to implement -------------------------------------------------------------------
    def _label_clusters(self, centroids: np.ndarray) -> list[str]:
        raise NotImplementedError

    # -- scikit-learn API ---------------------------------------------------------------
    def features(self, frame: pd.DataFrame) -> np.ndarray:
        return log_features(frame, self.feature_columns)

    def fit(self, frame: pd.DataFrame, y=None) -> ClusterSegmenter:
        with single_thread():
            return self._fit(frame)

    def _fit(self, frame: pd.DataFrame) -> ClusterSegmenter:
        frame = sorted_by_customer(frame)
        if frame.empty:
            raise ValueError("there are no customers to segment")
        matrix = self.features(frame)
        distinct = len(np.unique(matrix, axis=0))
        # Fewer distinct customers than clusters (a tiny file): fewer clusters.
        k = max(1, min(self.n_clusters, distinct))
        self.pipeline_ = kmeans_pipeline(k, self.random_state, self.n_init).fit(matrix)
        self.cluster_labels_ = [str(label) for label in self._label_clusters(self.centroids())]
        names = np.asarray(self.cluster_labels_, dtype=object)
        fitted = names[self.pipeline_.named_steps["kmeans"].labels_]
        self.cluster_sizes_ = {label: int((fitted == label).sum()) for label in names}
        return self

    def evaluate(self, frame: pd.DataFrame) -> ClusterQuality:
        """Separation of the clusters on ``frame`` (the customers the model was fitted on)."""
        frame = sorted_by_customer(frame)
        with single_thread():
            return cluster_quality(
                self.standardize(frame),
                self.predict_cluster(frame),
                self.cluster_labels_,
                self.pipeline_.named_steps["kmeans"].inertia_,
            )

    def predict_cluster(self, frame: pd.DataFrame) -> np.ndarray:
        with single_thread():
            return self.pipeline_.predict(self.features(frame))

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """The label of each row's cluster."""
        return np.asarray(self.cluster_labels_, dtype=object)[self.predict_cluster(frame)]

    def standardize(self, frame: pd.DataFrame) -> np.ndarray:
        return self.pipeline_.named_steps["scale"].transform(self.features(frame))

    # -- descriptions -------------------------------------------------------------------
    def centroids(self) -> np.ndarray:
        """Cluster centres in standardized space (rows = cluster ids)."""
        return self.pipeline_.named_steps["kmeans"].cluster_centers_

    def label_mapping(self) -> dict[str, str]:
        return {str(cluster): label for cluster, label in enumerate(self.cluster_labels_)}

    def centroid_table(self) -> pd.DataFrame:
        """One row per cluster: label, size, centre in the features' own units (the
        back-transformed log centre, i.e. a geometric-mean-like typical customer) and in
        standard deviations."""
        centres = self.centroids()
        natural = np.expm1(self.pipeline_.named_steps["scale"].inverse_transform(centres))
        table = pd.DataFrame({"cluster": range(len(centres)), "label": self.cluster_labels_})
        table["customers"] = [self.cluster_sizes_.get(label, 0) for label in self.cluster_labels_]
        for i, column in enumerate(self.feature_columns):
            table[column] = np.round(natural[:, i], 2)
        for i, column in enumerate(self.feature_columns):
            table[f"z_{column}"] = np.round(centres[:, i], 3)
        return table
