"""Reasons behind a score: per-customer contributions of a logistic regression.

For a pipeline ``inputs -> median imputation -> standardisation -> logistic regression`` the
logit of a customer is ``intercept + sum_j coef_j * z_j`` where ``z_j`` is the standardised
model value of feature j. The baseline customer has every z = 0 (the training average), so
``coef_j * z_j`` is exactly how much feature j moves this customer's logit away from the
baseline's, and contributions + intercept = logit, to rounding. Positive contributions
push the score up ("up"), negative ones down ("down").

The top reasons are the three largest contributions in absolute value, with the value a
person reads (recency_days=300 rather than its scaled log), e.g.
``recency_days=300 (+1.20, up); frequency=1 (-0.40, down)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
from sklearn.pipeline import Pipeline

from pipeline.modelling.model_inputs import LOG_SCALED

TOP_REASONS = 3
_SCALES = {"bgnbd_p_purchase": "logit(value)", "bgnbd_expected_orders": "log(value + 0.01)"}


@dataclass(frozen=True)
class Contributions:
    values: pd.DataFrame  # readable value per model feature
    contributions: pd.DataFrame  # contribution to the logit per model feature
    intercept: float

    @property
    def logit(self) -> np.ndarray:
        return self.intercept + self.contributions.sum(axis=1).to_numpy()


def linear_contributions(model: Pipeline, X: pd.DataFrame) -> Contributions:
    """Contributions of each feature to the logit of a fitted logistic pipeline."""
    inputs = model.named_steps["inputs"]
    standardised = model[:-1].transform(X)
    classifier = model.named_steps["classifier"]
    coefficients = classifier.coef_[0]
    columns = list(inputs.columns_)
    contributions = pd.DataFrame(
        np.asarray(standardised, dtype=np.float64) * coefficients, columns=columns, index=X.index
    )
    return Contributions(
        values=inputs.readable(X).set_axis(X.index),
        contributions=contributions,
        intercept=float(classifier.intercept_[0]),
    )


def coefficient_table(model: Pipeline) -> pd.DataFrame:
    """Standardised coefficients, largest effect first: the change in log-odds for one
    standard deviation of the (log-scaled where noted) feature."""
    inputs = model.named_steps["inputs"]
    coefficients = model.named_steps["classifier"].coef_[0]
    table = pd.DataFrame(
        {
            "feature": inputs.columns_,
            "coefficient": coefficients,
            "scale": [
                _SCALES.get(c, "log(1 + value)" if c in LOG_SCALED else "value")
                for c in inputs.columns_
            ],
        }
    )
    order = table["coefficient"].abs().sort_values(ascending=False).index
    return table.loc[order].reset_index(drop=True)


def _format_value(value: float) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "missing"
    if float(value).is_integer() and abs(value) < 1e12:
        return str(int(value))
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.3g}"


def _format_values(values: np.ndarray) -> np.ndarray:
    """:func:`_format_value` of each of ``values`` (floats), the same texts: whole numbers
    (most values, such as days and counts) converted by NumPy at once, the rest by
    :func:`_format_value` one value at a time."""
    texts = np.full(len(values), "missing", dtype=object)
    with np.errstate(invalid="ignore"):
        known = ~np.isnan(values)
        whole = known & (np.mod(values, 1) == 0) & (np.abs(values) < 1e12)
    texts[whole] = values[whole].astype(np.int64).astype(str).astype(object)
    rest = known & ~whole
    texts[rest] = [_format_value(value) for value in values[rest].tolist()]
    return texts


def top_reasons(
    explained: Contributions, k: int = TOP_REASONS
) -> tuple[list[str], pd.arrays.ArrowExtensionArray]:
    """Per customer: the reasons as text, and as records (feature, value, contribution,
    direction) for the list-of-struct column (an Arrow list array, which the table writer
    takes as it is).

    Whole arrays at once: a loop over customers took seconds per score table at 70,000
    customers. Each distinct value is formatted once; the rounding and formatting are
    Python's, as a customer-by-customer loop would do them."""
    contributions = explained.contributions.to_numpy(dtype=np.float64)
    values = explained.values.to_numpy(dtype=np.float64)
    names = np.asarray(explained.contributions.columns, dtype=object)
    order = np.argsort(-np.abs(contributions), axis=1, kind="stable")[:, :k]
    chosen = np.take_along_axis(contributions, order, axis=1).ravel()
    shown = np.take_along_axis(values, order, axis=1).ravel()
    features = names[order].ravel().tolist()
    directions = np.where(chosen >= 0, "up", "down").tolist()
    distinct, position = np.unique(shown, return_inverse=True)
    value_texts = _format_values(distinct)[position.ravel()].tolist()
    chosen = chosen.tolist()
    parts = [
        f"{feature}={value} ({contribution:+.2f}, {direction})"
        for feature, value, contribution, direction in zip(
            features, value_texts, chosen, directions, strict=True
        )
    ]
    width = order.shape[1]
    texts = ["; ".join(parts[start : start + width]) for start in range(0, len(parts), width)]
    if not width:
        texts = [""] * len(order)
    reasons = pa.StructArray.from_arrays(
        [
            pa.array(features, pa.string()),
            pa.array(shown, pa.float64(), from_pandas=True),  # NaN: no value (null)
            pa.array([round(c, 4) for c in chosen], pa.float64()),
            pa.array(directions, pa.string()),
        ],
        names=["feature", "value", "contribution", "direction"],
    )
    offsets = pa.array(np.arange(len(order) + 1) * width, pa.int32())
    records = pa.ListArray.from_arrays(offsets, reasons)
    return texts, pd.arrays.ArrowExtensionArray(records)


def reason_columns(explain: Callable[[], Contributions], wanted: bool = True) -> dict:
    """A score table's ``top_reasons`` and ``reasons`` columns from the contributions that
    ``explain`` computes; none when not ``wanted`` (callers that keep only the figures: the
    demo-truth comparison, the history snapshots; the reasons are a third of a scoring)."""
    if not wanted:
        return {}
    texts, records = top_reasons(explain())
    return {"top_reasons": texts, "reasons": records}
