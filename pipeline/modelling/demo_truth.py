"""Proof on demo data: the final scores against what the demo customers really did next.

The demo generator writes DATA_DIR/demo/customer_truth.parquet with each customer's
outcome in the ``horizon_days`` (90) after the last written day: purchased_in_horizon,
future_spend and future_categories. When the snapshot is the day after that last day and
the horizon is the generator's, the scores predict exactly that window, so we can report
AUC and Brier of the final scores next to the plain BG/NBD and Pareto/NBD baselines (fitted
on the same snapshot histories, calendar days). On any other data the file is absent and nothing is
reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.demo import DEFAULT_HORIZON_DAYS, TRUTH_FILE
from pipeline.modelling.evaluation import METRICS, classification_metrics
from pipeline.modelling.model_inputs import (
    BGNBDClassifier,
    ParetoNBDClassifier,
    model_input_frame,
)
from pipeline.modelling.propensity import net_order_value
from pipeline.modelling.training_frames import ModelWindows
from pipeline.threads import single_blas_thread

# Row names of the written scores in the comparison tables (the others are baselines).
PROPENSITY_SCORES = "final (scores.propensity)"
CHURN_SCORES = "churn (scores.churn)"
PRODUCT_SCORES = "per-category logistic (cells)"
# The textbook baselines, fitted on the snapshot's histories in calendar days.
BASELINES = {"bgnbd": BGNBDClassifier, "pareto_nbd": ParetoNBDClassifier}


@dataclass(frozen=True)
class TruthComparison:
    propensity: pd.DataFrame  # rows: final, bgnbd (and more), columns: METRICS + size
    churn: pd.DataFrame
    product: pd.DataFrame | None
    spend: pd.DataFrame
    customers: int


def load_truth(demo_dir: Path, windows: ModelWindows, data_end_snapshot) -> tuple:
    """(truth frame or None, note)."""
    path = demo_dir / TRUTH_FILE
    if not path.exists():
        return None, f"no demo truth at {path}"
    if windows.snapshot != data_end_snapshot or windows.horizon_days != DEFAULT_HORIZON_DAYS:
        return None, (
            f"demo truth covers the {DEFAULT_HORIZON_DAYS} days after the data's end; these "
            f"scores are for {windows.horizon_days} days from {windows.snapshot:%Y-%m-%d}"
        )
    truth = pd.read_parquet(
        path,
        columns=["customer_id", "purchased_in_horizon", "future_spend", "future_categories"],
    )
    truth["customer_id"] = truth["customer_id"].astype(str).astype(object)
    return truth, f"demo truth {path}"


def _row(name: str, y, p) -> dict:
    figures = classification_metrics(y, p)
    return {"model": name, **{m: figures[m] for m in METRICS}, "customers": len(y)}


def _bought_cells(cells: pd.DataFrame, truth: pd.DataFrame) -> np.ndarray:
    """For each (customer_id, category) cell: did the customer buy the category in the
    horizon (``future_categories``: the categories, comma-separated).

    The cells (customers x top categories, ~800k at 10M rows) are matched by integer codes
    of their two keys rather than by a merge on the id strings (0.5-0.6 s against 0.6-0.8 s
    there)."""
    bought = (
        truth[["customer_id"]]
        .assign(category=truth["future_categories"].fillna("").str.split(","))
        .explode("category")
    )
    customers = pd.Index(truth["customer_id"].unique())
    categories = pd.Index(pd.unique(pd.concat([cells["category"], bought["category"]])))

    def codes(frame: pd.DataFrame) -> np.ndarray:
        customer = customers.get_indexer(frame["customer_id"]).astype(np.int64)
        code = customer * len(categories) + categories.get_indexer(frame["category"])
        return np.where(customer >= 0, code, -1)

    return np.isin(codes(cells), codes(bought))


@single_blas_thread
def compare_with_truth(
    truth: pd.DataFrame,
    scoring: pd.DataFrame,
    propensity_scores: pd.DataFrame,
    churn_scores: pd.DataFrame,
    product_scores: pd.DataFrame | None,
    horizon_days: int,
) -> TruthComparison:
    """Metrics of the written scores and of plain BG/NBD against the demo truth."""
    X = model_input_frame(scoring)
    base = pd.DataFrame({"customer_id": scoring["customer_id"].to_numpy(dtype=object)})
    for name, kind in BASELINES.items():
        baseline = kind(trading_time=False, horizon_days=horizon_days).fit(X)
        base[f"{name}_probability"] = baseline.predict_proba(X)[:, 1]
        base[f"{name}_spend"] = baseline.expected_orders(X) * net_order_value(X)
    joined = (
        propensity_scores[["customer_id", "purchase_probability", "predicted_spend"]]
        .merge(churn_scores[["customer_id", "churn_probability"]], on="customer_id")
        .merge(base, on="customer_id")
        .merge(truth, on="customer_id")
    )
    bought = joined["purchased_in_horizon"].to_numpy(dtype=bool)
    propensity = pd.DataFrame(
        [
            _row(PROPENSITY_SCORES, bought, joined["purchase_probability"]),
            *(
                _row(f"{name} (calendar days)", bought, joined[f"{name}_probability"])
                for name in BASELINES
            ),
        ]
    ).set_index("model")
    churn = pd.DataFrame(
        [
            _row(CHURN_SCORES, ~bought, joined["churn_probability"]),
            *(
                _row(f"{name} (calendar days)", ~bought, 1 - joined[f"{name}_probability"])
                for name in BASELINES
            ),
        ]
    ).set_index("model")
    actual = joined["future_spend"].to_numpy(np.float64)
    spend_rows = []
    spend_columns = [("final", "predicted_spend"), *((n, f"{n}_spend") for n in BASELINES)]
    for name, column in spend_columns:
        predicted = joined[column].to_numpy(np.float64)
        spend_rows.append(
            {
                "model": name,
                "mae": float(np.mean(np.abs(predicted - actual))),
                "correlation": float(np.corrcoef(predicted, actual)[0, 1]),
                "rank_correlation": float(
                    pd.Series(predicted).corr(pd.Series(actual), method="spearman")
                ),
                "total_predicted": float(predicted.sum()),
                "total_actual": float(actual.sum()),
            }
        )
    product = None
    if product_scores is not None and len(product_scores):
        # get_indexer, not isin or a merge: at 10M rows 0.2 s against 0.8 s for isin of the
        # score table's string column in the truth's object ids, 0.5 s for the merge.
        known = pd.Index(truth["customer_id"].unique())
        in_truth = known.get_indexer(product_scores["customer_id"]) >= 0
        cells = product_scores.loc[in_truth, ["customer_id", "category", "probability"]]
        bought_category = _bought_cells(cells, truth)
        product = pd.DataFrame(
            [_row(PRODUCT_SCORES, bought_category, cells["probability"])]
        ).set_index("model")
    return TruthComparison(
        propensity=propensity,
        churn=churn,
        product=product,
        spend=pd.DataFrame(spend_rows).set_index("model"),
        customers=len(joined),
    )
