"""Purchase style: Regular / Bulk / Anomaly from how many units a customer puts on a line.

Inputs per customer (computed in DuckDB, see pipeline.segmentation.warehouse): typical
(median) and lower-quartile units per line, average and largest line, lines priced far from
the product's usual price, and the largest returned line.

* **Anomaly**: an IsolationForest over three one-sided "spike" features (largest line vs
  the customer's typical line, largest returned line vs typical line, share of lines priced
  2x or more away from the product's median price) flags customers the forest isolates
  quickly (its default 'auto' threshold, anomaly score > 0.5). A flag counts only when it is
  *material*: a line or a returned line of at least ``material_ratio`` (50) times the
  customer's typical line, or at least one off-price line. The forest says who is unusual
  for this customer base; the materiality rule keeps a shop without any oddity from
  getting its quirkiest 1 % labelled Anomaly, and gives the reason text something concrete.
* **Bulk**: k-means (k=2) on the standardized log quartiles (25 %, median, 75 %) of the
  customer's units per line, fitted on the customers that are not anomalous. The cluster
  whose centre has the larger typical (median) line is Bulk, provided that line is at least
  ``min_bulk_ratio`` (4) times the other centre's; otherwise the data has no bulk buyers and
  everyone is Regular.
* **Regular**: the rest. A customer without any quantity (a file with amounts only) is
  Regular with ``style_assessed`` false and a reason that says so. With fewer than
  ``min_customers_for_anomaly`` (20) assessed customers no forest is fitted and nobody is
  an Anomaly.

Anomaly wins over Bulk: ``is_bulk_buyer`` still tells whether the customer's lines fall in
the bulk cluster.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.ensemble import IsolationForest
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from pipeline.segmentation.clustering import (
    INPUT_DECIMALS,
    N_INIT,
    RANDOM_STATE,
    ClusterQuality,
    cluster_quality,
    kmeans_pipeline,
    log_features,
    sorted_by_customer,
)
from pipeline.segmentation.labels import PURCHASE_STYLES
from pipeline.threads import single_thread

# Quartiles of the units per line: robust to the few huge lines of anomalous customers.
BULK_FEATURES: tuple[str, ...] = (
    "median_units_per_line",
    "p25_units_per_line",
    "p75_units_per_line",
)
STYLE_INPUTS: tuple[str, ...] = (
    "quantity_lines",
    "median_units_per_line",
    "p25_units_per_line",
    "p75_units_per_line",
    "avg_units_per_line",
    "max_units_per_line",
    "off_price_lines",
    "priced_lines",
    "max_returned_units",
)
OFF_PRICE_FACTOR = 2.0  # a line priced at >= 2x or <= 1/2 of the product's median price


def _number(value: float) -> str:
    """3 -> '3', 4.5 -> '4.5', 37378.0 -> '37,378'."""
    if value != value:  # NaN
        return "?"
    if abs(value) >= 10 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:.1f}"


def _units(value: float) -> str:
    return f"{_number(value)} unit" + ("" if value == 1 else "s")


def _column(frame: pd.DataFrame, name: str, default: float = 0.0) -> np.ndarray:
    if name not in frame.columns:
        return np.full(len(frame), default)
    values = frame[name].astype("float64").to_numpy(na_value=np.nan)
    return np.round(np.where(np.isnan(values), default, values), INPUT_DECIMALS)


@dataclass(frozen=True)
class StyleScores:
    """What a fitted model says about each row of one frame. The isolation forest's pass
    over every tree is most of the cost of labelling (68,000 customers: ~0.3 s), so
    ``assign``, ``evaluate`` and ``fit`` each make it once per frame and read the anomaly
    score, the anomaly flag and the style from it."""

    assessed: np.ndarray  # at least one line with a quantity
    anomaly_score: np.ndarray  # ~0.5 ordinary, towards 1 the easier to isolate; NaN: none
    anomalous: np.ndarray  # flagged by the forest and material
    bulk_cluster: np.ndarray  # the bulk k-means cluster, -1 when not assessed or no model
    styles: np.ndarray  # Regular / Bulk / Anomaly


class PurchaseStyleModel(BaseEstimator):
    """Bulk clusters + anomaly forest; ``predict`` returns Regular / Bulk / Anomaly."""

    def __init__(
        self,
        bulk_clusters: int = 2,
        min_bulk_ratio: float = 4.0,
        material_ratio: float = 50.0,
        n_estimators: int = 100,
        min_customers_for_anomaly: int = 20,
        random_state: int = RANDOM_STATE,
        n_init: int = N_INIT,
    ):
        self.bulk_clusters = bulk_clusters
        self.min_bulk_ratio = min_bulk_ratio
        self.material_ratio = material_ratio
        self.n_estimators = n_estimators
        self.min_customers_for_anomaly = min_customers_for_anomaly
        self.random_state = random_state
        self.n_init = n_init

    # -- features -----------------------------------------------------------------------
    @staticmethod
    def assessed(frame: pd.DataFrame) -> np.ndarray:
        """Customers with at least one line that has a quantity."""
        return (_column(frame, "quantity_lines") > 0) & (
            _column(frame, "median_units_per_line") > 0
        )

    @staticmethod
    def anomaly_features(frame: pd.DataFrame) -> np.ndarray:
        typical = np.log1p(_column(frame, "median_units_per_line"))
        line_spike = np.clip(np.log1p(_column(frame, "max_units_per_line")) - typical, 0, None)
        return_spike = np.clip(np.log1p(_column(frame, "max_returned_units")) - typical, 0, None)
        return np.column_stack([line_spike, return_spike, _column(frame, "off_price_share")])

    @staticmethod
    def bulk_features(frame: pd.DataFrame) -> np.ndarray:
        return log_features(frame, BULK_FEATURES)

    def material(self, frame: pd.DataFrame) -> np.ndarray:
        typical = np.maximum(_column(frame, "median_units_per_line"), 1.0)
        return (
            (_column(frame, "max_units_per_line") >= self.material_ratio * typical)
            | (_column(frame, "max_returned_units") >= self.material_ratio * typical)
            | (_column(frame, "off_price_lines") >= 1)
        )

    # -- fit / predict --------------------------------------------------------------------
    def fit(self, frame: pd.DataFrame, y=None) -> PurchaseStyleModel:
        with single_thread():
            return self._fit(frame)

    def _fit(self, frame: pd.DataFrame) -> PurchaseStyleModel:
        frame = sorted_by_customer(frame)
        assessed = self.assessed(frame)
        self.n_assessed_ = int(assessed.sum())
        self.anomaly_pipeline_ = None
        if self.n_assessed_ >= self.min_customers_for_anomaly:
            forest = IsolationForest(
                n_estimators=self.n_estimators,
                contamination="auto",
                random_state=self.random_state,
            )
            self.anomaly_pipeline_ = Pipeline(
                [("scale", StandardScaler()), ("forest", forest)]
            ).fit(self.anomaly_features(frame)[assessed])
        anomalous = self._anomalous(frame, assessed)
        regular_fit = assessed & ~anomalous
        self.n_bulk_fit_ = int(regular_fit.sum())

        self.bulk_pipeline_ = None
        self.bulk_cluster_ = -1
        self.cluster_typical_line_ = []
        matrix = self.bulk_features(frame)[regular_fit]
        distinct = len(np.unique(matrix, axis=0)) if len(matrix) else 0
        if distinct >= 2:
            k = min(self.bulk_clusters, distinct)
            self.bulk_pipeline_ = kmeans_pipeline(k, self.random_state, self.n_init).fit(matrix)
            centres = self.bulk_pipeline_.named_steps["scale"].inverse_transform(
                self.bulk_pipeline_.named_steps["kmeans"].cluster_centers_
            )
            typical = np.expm1(centres[:, 0])  # typical units per line of each centre
            self.cluster_typical_line_ = [float(v) for v in typical]
            order = np.argsort(typical, kind="stable")
            if typical[order[-1]] >= self.min_bulk_ratio * max(typical[order[0]], 1e-9):
                self.bulk_cluster_ = int(order[-1])

        typical_lines = _column(frame, "median_units_per_line")[assessed]
        average_lines = _column(frame, "avg_units_per_line")[assessed]
        self.reference_typical_line_ = float(np.median(typical_lines)) if assessed.any() else 0.0
        self.reference_avg_line_ = float(np.median(average_lines)) if assessed.any() else 0.0
        styles = self._styles(anomalous, self._bulk_cluster(frame, assessed))
        self.style_sizes_ = {style: int((styles == style).sum()) for style in PURCHASE_STYLES}
        return self

    def _forest_scores(self, frame: pd.DataFrame, assessed: np.ndarray) -> np.ndarray:
        """The forest's ``score_samples`` of the assessed rows (NaN elsewhere, and
        everywhere when there is no forest)."""
        raw = np.full(len(frame), np.nan)
        if self.anomaly_pipeline_ is not None and assessed.any():
            raw[assessed] = self.anomaly_pipeline_.score_samples(
                self.anomaly_features(frame)[assessed]
            )
        return raw

    def _flagged(self, frame: pd.DataFrame, raw: np.ndarray) -> np.ndarray:
        """Isolated by the forest (IsolationForest.predict == -1, which is exactly
        ``score_samples - offset_ < 0``) and material."""
        if self.anomaly_pipeline_ is None:
            return np.zeros(len(frame), dtype=bool)
        offset = self.anomaly_pipeline_.named_steps["forest"].offset_
        isolated = np.zeros(len(frame), dtype=bool)
        scored = ~np.isnan(raw)
        isolated[scored] = (raw[scored] - offset) < 0
        return isolated & self.material(frame)

    def _anomalous(self, frame: pd.DataFrame, assessed: np.ndarray) -> np.ndarray:
        return self._flagged(frame, self._forest_scores(frame, assessed))

    def _bulk_cluster(self, frame: pd.DataFrame, assessed: np.ndarray) -> np.ndarray:
        clusters = np.full(len(frame), -1)
        if self.bulk_pipeline_ is not None and assessed.any():
            clusters[assessed] = self.bulk_pipeline_.predict(self.bulk_features(frame)[assessed])
        return clusters

    def _styles(self, anomalous: np.ndarray, bulk_clusters: np.ndarray) -> np.ndarray:
        bulk = (bulk_clusters == self.bulk_cluster_) & (self.bulk_cluster_ >= 0)
        return np.where(anomalous, "Anomaly", np.where(bulk, "Bulk", "Regular")).astype(object)

    def scores(self, frame: pd.DataFrame) -> StyleScores:
        """Everything the model says about ``frame``, with one pass of the forest."""
        with single_thread():
            return self._scores(frame)

    def _scores(self, frame: pd.DataFrame) -> StyleScores:
        assessed = self.assessed(frame)
        raw = self._forest_scores(frame, assessed)
        anomalous = self._flagged(frame, raw)
        bulk_clusters = self._bulk_cluster(frame, assessed)
        return StyleScores(
            assessed=assessed,
            anomaly_score=-raw,
            anomalous=anomalous,
            bulk_cluster=bulk_clusters,
            styles=self._styles(anomalous, bulk_clusters),
        )

    def anomaly_score(self, frame: pd.DataFrame) -> np.ndarray:
        """IsolationForest score, ~0.5 ordinary, towards 1 the easier to isolate; NaN when
        the customer is not assessed or the model had too few customers for a forest."""
        return self.scores(frame).anomaly_score

    def anomalous(self, frame: pd.DataFrame) -> np.ndarray:
        return self.scores(frame).anomalous

    def bulk_cluster(self, frame: pd.DataFrame) -> np.ndarray:
        """The bulk k-means cluster of each row (-1 when not assessed or no model)."""
        return self.scores(frame).bulk_cluster

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return self.scores(frame).styles

    # -- outputs --------------------------------------------------------------------------
    def _anomaly_reason(
        self, typical: float, largest: float, returned: float, off_price: float, priced: float
    ) -> str:
        evidence = []  # (strength, text)
        base = max(typical, 1.0)
        if largest >= self.material_ratio * base:
            evidence.append(
                (
                    largest / base,
                    f"a line of {_units(largest)}, "
                    f"{_number(largest / base)}x their typical line of "
                    f"{_number(typical)}",
                )
            )
        if returned >= self.material_ratio * base:
            evidence.append((returned / base, f"returned {_units(returned)} on one line"))
        if off_price >= 1:
            evidence.append(
                (
                    self.material_ratio * off_price,
                    f"{_number(off_price)} of {_number(priced)} lines priced "
                    f"{OFF_PRICE_FACTOR:g}x+ away from the product's usual price",
                )
            )
        evidence.sort(key=lambda item: -item[0])
        return "; ".join(text for _, text in evidence[:2])

    def reasons(self, frame: pd.DataFrame, styles: np.ndarray) -> list[str]:
        """One sentence per row. Most customers are Regular and their sentence depends only
        on their typical line, so it is written once per distinct typical line."""
        assessed = self.assessed(frame).tolist()
        typical = _column(frame, "median_units_per_line").tolist()
        average = _column(frame, "avg_units_per_line").tolist()
        largest = _column(frame, "max_units_per_line").tolist()
        returned = _column(frame, "max_returned_units").tolist()
        off_price = _column(frame, "off_price_lines").tolist()
        priced = _column(frame, "priced_lines").tolist()
        ref_average = max(self.reference_avg_line_, 1e-9)
        median_customer = _number(self.reference_typical_line_)
        regular: dict[float, str] = {}
        out = []
        for i, style in enumerate(styles):
            if not assessed[i]:
                out.append("no quantities in the data: purchase style not assessed")
            elif style == "Anomaly":
                out.append(
                    self._anomaly_reason(
                        typical[i], largest[i], returned[i], off_price[i], priced[i]
                    )
                )
            elif style == "Bulk":
                out.append(
                    f"avg {_number(average[i])} units/line, "
                    f"{_number(average[i] / ref_average)}x the median customer "
                    f"({_number(self.reference_avg_line_)}); typical line "
                    f"{_units(typical[i])}"
                )
            else:
                text = regular.get(typical[i])
                if text is None:
                    text = f"typical line {_units(typical[i])} (median customer {median_customer})"
                    regular[typical[i]] = text
                out.append(text)
        return out

    def assign(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The style columns of segments.purchase_style for ``frame``."""
        with single_thread():
            return self._assign(frame)

    def _assign(self, frame: pd.DataFrame) -> pd.DataFrame:
        scores = self._scores(frame)
        bulk_clusters = scores.bulk_cluster
        table = pd.DataFrame(
            {
                "customer_id": frame["customer_id"].to_numpy(),
                "purchase_style": scores.styles,
                "style_reason": self.reasons(frame, scores.styles),
                "style_assessed": scores.assessed,
                "is_bulk_buyer": (bulk_clusters == self.bulk_cluster_) & (self.bulk_cluster_ >= 0),
                "anomaly_score": np.round(scores.anomaly_score, 4),
                "style_cluster": np.where(bulk_clusters >= 0, bulk_clusters, np.nan),
            }
        )
        for column in (*STYLE_INPUTS, "units_per_line_cv", "median_unit_price", "as_of"):
            if column in frame.columns:
                table[column] = frame[column].to_numpy()
        return table

    def evaluate(self, frame: pd.DataFrame) -> ClusterQuality:
        """Separation of the bulk clusters on the non-anomalous customers of ``frame``;
        sizes are per purchase style over all of ``frame``."""
        with single_thread():
            return self._evaluate(sorted_by_customer(frame))

    def _evaluate(self, frame: pd.DataFrame) -> ClusterQuality:
        scores = self._scores(frame)
        sizes = {style: int((scores.styles == style).sum()) for style in PURCHASE_STYLES}
        fitted = scores.assessed & ~scores.anomalous
        if self.bulk_pipeline_ is None or not fitted.any():
            return ClusterQuality(len(frame), 1, None, None, 0.0, sizes)
        standardized = self.bulk_pipeline_.named_steps["scale"].transform(
            self.bulk_features(frame)[fitted]
        )
        clusters = self.bulk_pipeline_.named_steps["kmeans"].predict(standardized)
        labels = [
            "Bulk" if c == self.bulk_cluster_ else f"Regular ({c})"
            for c in range(self.bulk_pipeline_.named_steps["kmeans"].n_clusters)
        ]
        quality = cluster_quality(
            standardized, clusters, labels, self.bulk_pipeline_.named_steps["kmeans"].inertia_
        )
        return ClusterQuality(
            len(frame),
            quality.n_clusters,
            quality.silhouette,
            quality.davies_bouldin,
            quality.inertia,
            sizes,
        )

    def label_mapping(self) -> dict[str, str]:
        mapping = {}
        for cluster in range(len(self.cluster_typical_line_)):
            mapping[str(cluster)] = "Bulk" if cluster == self.bulk_cluster_ else "Regular"
        return mapping

    def centroid_table(self) -> pd.DataFrame:
        """One row per bulk k-means cluster: label, size in the fit, centre in units."""
        if self.bulk_pipeline_ is None:
            return pd.DataFrame(columns=["cluster", "label", *BULK_FEATURES])
        kmeans = self.bulk_pipeline_.named_steps["kmeans"]
        centres = kmeans.cluster_centers_
        natural = np.expm1(self.bulk_pipeline_.named_steps["scale"].inverse_transform(centres))
        table = pd.DataFrame(
            {
                "cluster": range(len(centres)),
                "label": [self.label_mapping()[str(c)] for c in range(len(centres))],
                "customers_in_fit": np.bincount(kmeans.labels_, minlength=len(centres)),
            }
        )
        for i, column in enumerate(BULK_FEATURES):
            table[column] = np.round(natural[:, i], 2)
        for i, column in enumerate(BULK_FEATURES):
            table[f"z_{column}"] = np.round(centres[:, i], 3)
        return table
