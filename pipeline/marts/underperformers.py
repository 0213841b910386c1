"""marts.underperformers: predicted vs actual on the last complete horizon.

For every customer who had bought before the evaluation cutoff (the start of the last
complete horizon), the prediction is what the propensity model would have said at the
cutoff without having seen that customer's outcome (out-of-fold, see
:func:`pipeline.modelling.propensity.out_of_fold_predictions`), and the actual is what they
bought in the horizon (orders, net spend). Training writes those rows to
scores.horizon_predictions; this module classifies them.

Thresholds: the tolerance is ``max(tolerance_share x predicted_spend, one typical order)``,
where a typical order is the median net order value of the customers (so a customer
predicted to spend 40 who spent nothing is not flagged over one missing small order).

* under-performer: actual_spend < predicted_spend - tolerance,
* over-performer: actual_spend > predicted_spend + tolerance,
* accurate: otherwise.

``shortfall`` = predicted_spend - actual_spend (positive: spent less than expected).
Default tolerance_share 0.5. Marketing's list is the under-performers with a high purchase
probability, ordered by shortfall (``shortfall_rank``).
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from pipeline.catalog.writer import replace_table

UNDER = "under-performer"
ACCURATE = "accurate"
OVER = "over-performer"
DEFAULT_TOLERANCE_SHARE = 0.5


def typical_order_value(frame: pd.DataFrame) -> float:
    """Median net order value (net spend / orders) over customers with orders."""
    value = np.maximum(frame["monetary"].to_numpy(np.float64), 0.0) / np.maximum(
        frame["frequency"].to_numpy(np.float64), 1.0
    )
    return float(np.median(value)) if len(value) else 0.0


def classify_performance(
    predicted: pd.DataFrame,
    *,
    typical_order: float,
    tolerance_share: float = DEFAULT_TOLERANCE_SHARE,
) -> pd.DataFrame:
    """Add tolerance, shortfall, performance and shortfall_rank to out-of-fold predictions."""
    if tolerance_share < 0:
        raise ValueError("tolerance_share must be >= 0")
    frame = predicted.copy()
    spend = frame["predicted_spend"].to_numpy(np.float64)
    actual = frame["actual_spend"].to_numpy(np.float64)
    tolerance = np.maximum(tolerance_share * spend, typical_order)
    frame["tolerance"] = tolerance
    frame["shortfall"] = spend - actual
    frame["performance"] = np.where(
        actual < spend - tolerance, UNDER, np.where(actual > spend + tolerance, OVER, ACCURATE)
    )
    under = frame["performance"] == UNDER
    frame["shortfall_rank"] = pd.array([pd.NA] * len(frame), dtype="Int64")
    frame.loc[under, "shortfall_rank"] = (
        frame.loc[under, "shortfall"].rank(method="first", ascending=False).astype("Int64")
    )
    return frame.sort_values(["shortfall"], ascending=False, ignore_index=True)


def typical_order_of_predictions(predictions: pd.DataFrame) -> float:
    """The typical order value of the customers of scores.horizon_predictions (their
    orders and net spend before the cutoff)."""
    return typical_order_value(
        pd.DataFrame(
            {"monetary": predictions["net_spend_before"], "frequency": predictions["orders_before"]}
        )
    )


def build_underperformers(
    connection: duckdb.DuckDBPyConnection, tolerance_share: float = DEFAULT_TOLERANCE_SHARE
) -> tuple[pd.DataFrame, float]:
    """Write marts.underperformers from scores.horizon_predictions; returns the rows and the
    typical order value the tolerance used."""
    predictions = connection.execute(
        "SELECT * FROM scores.horizon_predictions ORDER BY customer_id"
    ).df()
    typical = typical_order_of_predictions(predictions)
    classified = classify_performance(
        predictions, typical_order=typical, tolerance_share=tolerance_share
    )
    replace_table(connection, "marts.underperformers", classified)
    return classified, typical
