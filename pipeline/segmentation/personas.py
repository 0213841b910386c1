"""Personas: Loyal Customers, Big Spenders, At Risk, New Customers, Occasional.

Each name means what it says, on any data:

| persona         | who                                                                   |
|-----------------|-----------------------------------------------------------------------|
| New Customers   | first purchase within the last ``new_customer_days`` (90) days        |
| Loyal Customers | the frequent-buyer profile, and bought within ``lapsed_after_days``   |
| Big Spenders    | the large-basket, high-spend profile, and bought within the window    |
| At Risk         | a Loyal or Big Spender profile (valuable) with no purchase for longer |
|                 | than ``lapsed_after_days`` (90) days (lapsing)                        |
| Occasional      | the low-frequency, low-spend profile, whatever its recency            |

The profile comes from the clustering: k-means (k=3) on standardized log1p frequency,
monetary (clipped at 0) and average order value of the established customers (those past
the new-customer window; everyone when fewer than three distinct customers are). Each
cluster becomes the profile whose archetype (labels.PROFILE_ARCHETYPES) is nearest to its
centroid, every profile used at most once: an assignment problem over the squared
distances, solved with scipy.optimize.linear_sum_assignment. Cluster ids never enter the
mapping. Recency and tenure stay out of the clustering: they are the customer's state,
and the windows that read them are the documented definitions above. Both windows are the
default 90-day horizon of the models: New Customers have had less than one horizon to show
their rhythm; a customer who has not bought for a whole horizon is lapsing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from pipeline.segmentation.clustering import (
    N_INIT,
    RANDOM_STATE,
    ClusterQuality,
    ClusterSegmenter,
    log_features,
    sorted_by_customer,
)
from pipeline.segmentation.labels import PROFILE_ARCHETYPES, VALUABLE_PROFILES

PROFILE_FEATURES: tuple[str, ...] = ("frequency", "monetary", "avg_order_value")
PERSONA_FEATURES: tuple[str, ...] = ("recency_days", "tenure_days", *PROFILE_FEATURES)
PROFILES: tuple[str, ...] = tuple(PROFILE_ARCHETYPES)
NEW_CUSTOMER_DAYS = 90
LAPSED_AFTER_DAYS = 90
NEW, AT_RISK = "New Customers", "At Risk"


def persona_cost(centroids: np.ndarray) -> np.ndarray:
    """Squared distance of each centroid (rows) to each profile archetype (columns)."""
    archetypes = np.array([PROFILE_ARCHETYPES[name] for name in PROFILES])
    centroids = np.asarray(centroids, dtype=float)
    return ((centroids[:, None, :] - archetypes[None, :, :]) ** 2).sum(axis=2)


def map_personas(centroids: np.ndarray) -> list[str]:
    """The profile of each cluster (rows of standardized centroids), one profile per
    cluster, minimising the total distance to the archetypes."""
    centroids = np.asarray(centroids, dtype=float)
    if len(centroids) > len(PROFILES):
        raise ValueError(f"at most {len(PROFILES)} clusters can be mapped to profiles")
    rows, columns = linear_sum_assignment(persona_cost(centroids))
    labels = [""] * len(centroids)
    for row, column in zip(rows, columns, strict=True):
        labels[int(row)] = PROFILES[int(column)]
    return labels


def _days(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A day count per row; unknown (missing column or null) as NaN, which no window holds."""
    if column not in frame.columns:
        return np.full(len(frame), np.nan)
    return frame[column].astype("float64").to_numpy(na_value=np.nan)


class PersonaSegmenter(ClusterSegmenter):
    """Persona per customer; ``predict`` returns the persona names."""

    feature_columns = PROFILE_FEATURES

    def __init__(
        self,
        n_clusters: int = 3,
        random_state: int = RANDOM_STATE,
        n_init: int = N_INIT,
        new_customer_days: int = NEW_CUSTOMER_DAYS,
        lapsed_after_days: int = LAPSED_AFTER_DAYS,
    ):
        super().__init__(n_clusters=n_clusters, random_state=random_state, n_init=n_init)
        self.new_customer_days = new_customer_days
        self.lapsed_after_days = lapsed_after_days

    def _label_clusters(self, centroids: np.ndarray) -> list[str]:
        return map_personas(centroids)

    def is_new(self, frame: pd.DataFrame) -> np.ndarray:
        return _days(frame, "tenure_days") <= self.new_customer_days

    def _fit(self, frame: pd.DataFrame) -> PersonaSegmenter:
        frame = sorted_by_customer(frame)
        established = frame[~self.is_new(frame)]
        distinct = len(np.unique(log_features(established, PROFILE_FEATURES), axis=0))
        super()._fit(established if distinct >= self.n_clusters else frame)
        return self

    def profile(self, frame: pd.DataFrame) -> np.ndarray:
        """The purchase profile of each row's cluster (PROFILES)."""
        return np.asarray(self.cluster_labels_, dtype=object)[self.predict_cluster(frame)]

    def personas(self, frame: pd.DataFrame, profile: np.ndarray) -> np.ndarray:
        lapsing = _days(frame, "recency_days") > self.lapsed_after_days
        persona = np.where(np.isin(profile, VALUABLE_PROFILES) & lapsing, AT_RISK, profile)
        return np.where(self.is_new(frame), NEW, persona).astype(object)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return self.personas(frame, self.profile(frame))

    def evaluate(self, frame: pd.DataFrame) -> ClusterQuality:
        """Separation of the profile clusters, and the customers per persona."""
        quality = super().evaluate(frame)
        names, counts = np.unique(self.predict(sorted_by_customer(frame)), return_counts=True)
        sizes = {str(name): int(count) for name, count in zip(names, counts, strict=True)}
        return ClusterQuality(
            quality.n_customers,
            quality.n_clusters,
            quality.silhouette,
            quality.davies_bouldin,
            quality.inertia,
            sizes,
        )

    def assign(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows of segments.personas for ``frame`` (model_version left empty)."""
        clusters = self.predict_cluster(frame)
        profile = np.asarray(self.cluster_labels_, dtype=object)[clusters]
        standardized = self.standardize(frame)
        distance = np.linalg.norm(standardized - self.centroids()[clusters], axis=1)
        table = pd.DataFrame(
            {
                "customer_id": frame["customer_id"].to_numpy(),
                "persona": self.personas(frame, profile),
                "persona_cluster": clusters,
                "distance_to_centroid": np.round(distance, 4),
            }
        )
        for column in (*PERSONA_FEATURES, "as_of"):
            if column in frame.columns:
                table[column] = frame[column].to_numpy()
        return table
