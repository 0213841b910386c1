"""Customer value: Low / Mid / High from k-means (k=3) on standardized log R, F, M.

Features: log1p(recency_days), log1p(frequency), log1p(monetary clipped at 0), each
standardized. ``value_score`` is (8 z(monetary) + z(frequency) - z(recency)) / 10: value is
spend; how often and how recently only break near-ties. A continuous score (0 = the average
customer) that orders customers within and across segments. (With customers acquired up to
the last day, weights closer to equal named a cluster of recent low-spending newcomers "Mid"
above a cluster of lapsed customers who had spent more: recency alone lifted them.)
Clusters are named by ordering their centroids on the same score, so "High" is always the
cluster of the most valuable centre, whatever id k-means gave it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.segmentation.clustering import N_INIT, RANDOM_STATE, ClusterSegmenter
from pipeline.segmentation.labels import VALUE_LABELS_BY_K

VALUE_FEATURES: tuple[str, ...] = ("recency_days", "frequency", "monetary")
# Weight of each standardized feature in the value score: recent, frequent, big spenders.
VALUE_WEIGHTS = np.array([-1.0, 1.0, 8.0]) / 10.0


def centroid_value(centroids: np.ndarray) -> np.ndarray:
    """The value score of standardized centroids (rows)."""
    return np.asarray(centroids) @ VALUE_WEIGHTS


def value_labels(centroids: np.ndarray) -> list[str]:
    """Name clusters by ascending centroid value: Low, Mid, High (fewer names for fewer
    clusters, see VALUE_LABELS_BY_K). Ties keep the lower cluster id first."""
    scores = centroid_value(centroids)
    names = VALUE_LABELS_BY_K[len(scores)]
    labels = [""] * len(scores)
    for rank, cluster in enumerate(np.argsort(scores, kind="stable")):
        labels[int(cluster)] = names[rank]
    return labels


class ValueSegmenter(ClusterSegmenter):
    """Low / Mid / High value segments; ``predict`` returns the labels."""

    feature_columns = VALUE_FEATURES

    def __init__(self, n_clusters: int = 3, random_state: int = RANDOM_STATE, n_init: int = N_INIT):
        super().__init__(n_clusters=n_clusters, random_state=random_state, n_init=n_init)

    def _label_clusters(self, centroids: np.ndarray) -> list[str]:
        return value_labels(centroids)

    def value_score(self, frame: pd.DataFrame) -> np.ndarray:
        return self.standardize(frame) @ VALUE_WEIGHTS

    def assign(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows of segments.customer_value for ``frame`` (model_version left empty)."""
        clusters = self.predict_cluster(frame)
        score = self.value_score(frame)
        table = pd.DataFrame(
            {
                "customer_id": frame["customer_id"].to_numpy(),
                "value_segment": np.asarray(self.cluster_labels_, dtype=object)[clusters],
                "value_cluster": clusters,
                "value_score": np.round(score, 6),
            }
        )
        # 1 = the most valuable customer; ties share the best rank.
        table["value_rank"] = table["value_score"].rank(ascending=False, method="min")
        for column in (*VALUE_FEATURES, "as_of"):
            if column in frame.columns:
                table[column] = frame[column].to_numpy()
        return table
