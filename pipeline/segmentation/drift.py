"""Whether a segment model's champion still describes the customer base: the decay signal of
the segment models.

Segments have no outcome to score a champion against, so the signal is how far the
customers' spread over its labels moved since the fit: the total variation distance between
the shares at the fit (the ``size_<label>`` metrics of the champion's MLflow run, see
:meth:`pipeline.segmentation.clustering.ClusterQuality.metrics`) and the shares in today's
table, i.e. the share of customers that would have to change label for the two to match.
For the purchase-style model the share of customers it could assess (those with quantities
to judge) is compared too: a champion fitted on files without quantities labels everyone
Regular, and when quantities arrive its label shares do not move, but that share does.
Beyond ``tolerance`` (default 0.10) the check asks for a retrain
(orchestration/automation.py); until then the champion keeps labelling, so customers move
between segments because their behaviour changed, not because the clusters did.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.model_registry import champion_version
from pipeline.segmentation.clustering import metric_key

if TYPE_CHECKING:
    from mlflow import MlflowClient

DRIFT_TOLERANCE = 0.10
SIZE_METRIC = "size_"
ASSESSED_METRIC = "assessed_customers"  # logged at the fit of models that assess customers
CUSTOMERS_METRIC = "n_customers"


@dataclass(frozen=True)
class SegmentDrift:
    model_name: str
    champion_version: str | None
    distance: float | None  # total variation distance of the label shares, 0..1
    tolerance: float
    shares: tuple[tuple[str, float, float], ...] = ()  # (label, at the fit, now)
    assessed: tuple[float, float] | None = None  # share of customers assessed: fit, now

    @property
    def assessed_moved(self) -> bool:
        return self.assessed is not None and abs(self.assessed[1] - self.assessed[0]) > (
            self.tolerance
        )

    @property
    def drifted(self) -> bool:
        labels_moved = self.distance is not None and self.distance > self.tolerance
        return labels_moved or self.assessed_moved

    @property
    def reason(self) -> str:
        if self.champion_version is None:
            return f"{self.model_name} has no champion yet: nothing to judge"
        if self.distance is None:
            return (
                f"{self.model_name} v{self.champion_version} recorded no segment sizes at its "
                "fit: nothing to compare"
            )
        shown = ((label, f"{fit:.1%}", f"{now:.1%}") for label, fit, now in self.shares)
        moved = ", ".join(f"{label} {fit} -> {now}" for label, fit, now in shown if fit != now)
        verdict = "a retrain is due" if self.drifted else "within tolerance"
        assessed = ""
        if self.assessed is not None:
            fit, now = self.assessed
            assessed = f"; customers it can assess {fit:.1%} at the fit, {now:.1%} now"
        return (
            f"segment shares moved by {self.distance:.3f} (total variation) since the fit of "
            f"{self.model_name} v{self.champion_version}, tolerance {self.tolerance:.2f}"
            f"{assessed}: {verdict}" + (f" ({moved})" if moved else "")
        )


def share_distance(
    fitted: Mapping[str, float], current: Mapping[str, float]
) -> tuple[float, tuple[tuple[str, float, float], ...]]:
    """(total variation distance, (label, share at the fit, share now) per label) of two
    label -> customer count maps; a label missing on one side counts 0 there."""
    fitted_total, current_total = sum(fitted.values()), sum(current.values())
    labels = sorted(set(fitted) | set(current))
    shares = tuple(
        (
            label,
            fitted.get(label, 0) / fitted_total if fitted_total else 0.0,
            current.get(label, 0) / current_total if current_total else 0.0,
        )
        for label in labels
    )
    return 0.5 * sum(abs(fit - now) for _, fit, now in shares), shares


def fit_input_metrics(model) -> dict[str, float]:
    """What to log at a fit for the drift check besides the label sizes: the customers the
    model could assess, for a model that assesses (the purchase-style model)."""
    assessed = getattr(model, "n_assessed_", None)
    return {} if assessed is None else {ASSESSED_METRIC: float(assessed)}


def segment_drift(
    client: MlflowClient,
    model_name: str,
    current_sizes: Mapping[str, int],
    tolerance: float = DRIFT_TOLERANCE,
    assessed_now: float | None = None,
) -> SegmentDrift:
    """The drift of ``model_name``'s champion: its fit's label sizes (from its MLflow run)
    against ``current_sizes`` (label -> customers in today's table) and, when both are
    known, the share of customers it could assess at the fit against ``assessed_now``."""
    current = champion_version(client, model_name)
    if current is None:
        return SegmentDrift(model_name, None, None, tolerance)
    metrics = client.get_run(current.run_id).data.metrics
    fitted = {
        key.removeprefix(SIZE_METRIC): value
        for key, value in metrics.items()
        if key.startswith(SIZE_METRIC)
    }
    if not fitted:
        return SegmentDrift(model_name, str(current.version), None, tolerance)
    labels = {metric_key(label): label for label in current_sizes}
    now = {metric_key(label): count for label, count in current_sizes.items()}
    distance, shares = share_distance(fitted, now)
    named = tuple((labels.get(key, key), fit, today) for key, fit, today in shares)
    assessed = None
    if assessed_now is not None and metrics.get(ASSESSED_METRIC) is not None:
        customers = metrics.get(CUSTOMERS_METRIC) or 0
        if customers:
            assessed = (metrics[ASSESSED_METRIC] / customers, assessed_now)
    return SegmentDrift(model_name, str(current.version), distance, tolerance, named, assessed)
