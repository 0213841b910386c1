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

from dataclasses import dataclass

import numpy as np
import pandas as pd
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


def top_reasons(explained: Contributions, k: int = TOP_REASONS) -> tuple[list[str], list[list]]:
    """Per customer: the reasons as text, and as records (feature, value, contribution,
    direction) for the list-of-struct column."""
    contributions = explained.contributions.to_numpy()
    values = explained.values.to_numpy(dtype=np.float64)
    names = list(explained.contributions.columns)
    order = np.argsort(-np.abs(contributions), axis=1, kind="stable")[:, :k]
    texts, records = [], []
    for row in range(len(contributions)):
        reasons, parts = [], []
        for column in order[row]:
            contribution = float(contributions[row, column])
            value = float(values[row, column])
            direction = "up" if contribution >= 0 else "down"
            reasons.append(
                {
                    "feature": names[column],
                    "value": None if np.isnan(value) else value,
                    "contribution": round(contribution, 4),
                    "direction": direction,
                }
            )
            parts.append(
                f"{names[column]}={_format_value(value)} ({contribution:+.2f}, {direction})"
            )
        texts.append("; ".join(parts))
        records.append(reasons)
    return texts, records
