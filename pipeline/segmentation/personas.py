"""Personas: Loyal Customers, Big Spenders, At Risk, New / Occasional from k-means (k=4).

Features: log1p of recency_days, frequency, monetary (clipped at 0) and avg_order_value,
standardized. Average order value (monetary per order) is the one addition to R, F and M:
it is what separates Big Spenders (large baskets) from Loyal Customers (frequent baskets),
which plain R, F, M put in the same top cluster.

Each cluster becomes the persona whose archetype (labels.PERSONA_ARCHETYPES, a profile in
the same standardized space) is nearest to its centroid, with every persona used at most
once: an assignment problem over the squared distances, solved with
scipy.optimize.linear_sum_assignment. Cluster ids never enter the mapping.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from pipeline.segmentation.clustering import N_INIT, RANDOM_STATE, ClusterSegmenter
from pipeline.segmentation.labels import PERSONA_ARCHETYPES, PERSONAS

PERSONA_FEATURES: tuple[str, ...] = ("recency_days", "frequency", "monetary", "avg_order_value")


def persona_cost(centroids: np.ndarray) -> np.ndarray:
    """Squared distance of each centroid (rows) to each archetype (columns, PERSONAS order)."""
    archetypes = np.array([PERSONA_ARCHETYPES[name] for name in PERSONAS])
    centroids = np.asarray(centroids, dtype=float)
    return ((centroids[:, None, :] - archetypes[None, :, :]) ** 2).sum(axis=2)


def map_personas(centroids: np.ndarray) -> list[str]:
    """The persona of each cluster (rows of standardized centroids), one persona per
    cluster, minimising the total distance to the archetypes."""
    centroids = np.asarray(centroids, dtype=float)
    if len(centroids) > len(PERSONAS):
        raise ValueError(f"at most {len(PERSONAS)} clusters can be mapped to personas")
    rows, columns = linear_sum_assignment(persona_cost(centroids))
    labels = [""] * len(centroids)
    for row, column in zip(rows, columns, strict=True):
        labels[int(row)] = PERSONAS[int(column)]
    return labels


class PersonaSegmenter(ClusterSegmenter):
    """Persona per customer; ``predict`` returns the persona names."""

    feature_columns = PERSONA_FEATURES

    def __init__(self, n_clusters: int = 4, random_state: int = RANDOM_STATE, n_init: int = N_INIT):
        super().__init__(n_clusters=n_clusters, random_state=random_state, n_init=n_init)

    def _label_clusters(self, centroids: np.ndarray) -> list[str]:
        return map_personas(centroids)

    def assign(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows of segments.personas for ``frame`` (model_version left empty)."""
        clusters = self.predict_cluster(frame)
        standardized = self.standardize(frame)
        distance = np.linalg.norm(standardized - self.centroids()[clusters], axis=1)
        table = pd.DataFrame(
            {
                "customer_id": frame["customer_id"].to_numpy(),
                "persona": np.asarray(self.cluster_labels_, dtype=object)[clusters],
                "persona_cluster": clusters,
                "distance_to_centroid": np.round(distance, 4),
            }
        )
        for column in (*PERSONA_FEATURES, "as_of"):
            if column in frame.columns:
                table[column] = frame[column].to_numpy()
        return table
