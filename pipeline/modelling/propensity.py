"""P(purchase in the next horizon): candidates compared out of time, the best calibrated.

Training (see :mod:`pipeline.modelling.training_frames` for the windows and the split):

1. Fit each candidate of :mod:`pipeline.modelling.classifiers` on the training rows and
   score the validation customers at the evaluation cutoff.
2. Fit the baselines: BG/NBD and Pareto/NBD alone in calendar days, on the training
   customers at the evaluation cutoff (the textbook use), scored on the same validation
   customers.
3. Select the candidate with the lowest Brier score, refit it calibrated
   (:class:`~pipeline.modelling.classifiers.CalibratedModel`) with the Platt map
   (:mod:`pipeline.modelling.calibration`: every window, the latest labelled window, or the
   base rate's trend) that does best out of time: that is the final model.

Expected spend in the horizon (``predicted_spend``): expected orders x expected order
value, where expected orders = P(purchase) x E[orders | at least one order]. The conditional
orders come from BG/NBD (trading time): E[X] / P(X > 0), which is at least 1; the order
value is Gamma-Gamma's E[next order value | orders, mean value so far]
(:mod:`pipeline.modelling.value`), which pulls customers with few orders towards the
population's mean, so a single monster order does not dominate the spend ranking. So the
spend follows the calibrated probability and BG/NBD's view of how many orders a buyer
places. The same module gives the 12-month discounted lifetime value (``clv_12m``) and the
date of the next order (``next_order_date``); their parameters (Gamma-Gamma and a
calendar-day BG/NBD, fitted on the training customers at the cutoff) are stored with the
registered model. A model registered before them scores its spend with the net order
value so far capped at the 99th percentile, and leaves the value columns empty.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.inspection import permutation_importance

from pipeline.modelling.calibration import CALIBRATIONS
from pipeline.modelling.classifiers import CANDIDATES, CalibratedModel, uncalibrated
from pipeline.modelling.evaluation import Evaluation, classification_metrics
from pipeline.modelling.explanations import coefficient_table, reason_columns
from pipeline.modelling.model_inputs import (
    BGNBDClassifier,
    ParetoNBDClassifier,
    model_input_frame,
)
from pipeline.modelling.training_frames import ModelWindows, TrainingData
from pipeline.modelling.value import customer_value, fit_value_params
from pipeline.threads import single_blas_thread

BASELINE = "bgnbd"
PARETO_BASELINE = "pareto_nbd"
FINAL = "final"
ORDER_VALUE_CAP_QUANTILE = 0.99


@dataclass
class PropensityTraining:
    model: CalibratedModel
    selected: str
    evaluation: Evaluation  # validation customers: candidates, baseline and final
    coefficients: pd.DataFrame  # the logistic explainer's standardised coefficients
    importance: pd.DataFrame  # permutation importance of the final model (Brier)
    validation_inputs: pd.DataFrame
    validation_outcome: np.ndarray
    baseline: BGNBDClassifier
    out_of_fold: np.ndarray  # calibrated out-of-fold P(purchase), training customers at cutoff
    out_of_fold_rows: pd.DataFrame  # their rows (features at the cutoff, actual outcome)

    @property
    def validation_brier(self) -> float:
        return self.evaluation.metrics[FINAL]["brier"]


@single_blas_thread
def train_propensity(data: TrainingData, *, random_state: int = 42) -> PropensityTraining:
    train, validation = data.train, data.validation
    X, y = model_input_frame(train), train["purchased"].to_numpy(dtype=bool)
    X_valid = model_input_frame(validation)
    y_valid = validation["purchased"].to_numpy(dtype=bool)

    predictions: dict[str, np.ndarray] = {}
    fitted = {}
    for kind in CANDIDATES:
        fitted[kind] = uncalibrated(kind, X, y, random_state=random_state)
        predictions[kind] = fitted[kind].predict_proba(X_valid)[:, 1]
    selected = min(
        CANDIDATES, key=lambda k: classification_metrics(y_valid, predictions[k])["brier"]
    )

    at_cutoff = (train["window_start"] == data.windows.cutoff).to_numpy()
    horizon_days = data.windows.horizon_days
    baseline = BGNBDClassifier(trading_time=False, horizon_days=horizon_days)
    baseline.fit(X.loc[at_cutoff])
    predictions[BASELINE] = baseline.predict_proba(X_valid)[:, 1]
    pareto = ParetoNBDClassifier(trading_time=False, horizon_days=horizon_days)
    predictions[PARETO_BASELINE] = pareto.fit(X.loc[at_cutoff]).predict_proba(X_valid)[:, 1]

    model = CalibratedModel(kind=selected, random_state=random_state)
    window_days = (train["window_start"] - pd.Timestamp(data.windows.cutoff)).dt.days
    out_of_fold_scores = model.fit_out_of_fold(
        X,
        y,
        groups=train["customer_id"].to_numpy(dtype=object),
        fitted=fitted[selected],
        explainer=fitted.get("logistic"),
        window_days=window_days.to_numpy(np.float64),
        ahead_days=float(horizon_days),
    )
    validation_scores = model.decision_function(X_valid)
    if not model.calibration_backtest_:  # too few windows for a backtest: validation picks
        calibration = min(
            CALIBRATIONS,
            key=lambda name: classification_metrics(
                y_valid, model.use_calibration(name).calibrate(validation_scores)
            )["brier"],
        )
        model.use_calibration(calibration)
    out_of_fold = model.calibrate(out_of_fold_scores)
    predictions[FINAL] = model.calibrate(validation_scores)
    model.value_params_ = fit_value_params(X.loc[at_cutoff], baseline.params_)

    importance = permutation_importance(
        model, X_valid, y_valid, scoring="neg_brier_score", n_repeats=3, random_state=random_state
    )
    importance_table = (
        pd.DataFrame(
            {
                "feature": X_valid.columns,
                "brier_increase": importance.importances_mean,
                "std": importance.importances_std,
            }
        )
        .sort_values("brier_increase", ascending=False)
        .reset_index(drop=True)
    )
    return PropensityTraining(
        model=model,
        selected=selected,
        evaluation=Evaluation(y_valid, predictions),
        coefficients=coefficient_table(model.explainer_),
        importance=importance_table,
        validation_inputs=X_valid,
        validation_outcome=y_valid,
        baseline=baseline,
        out_of_fold=out_of_fold[at_cutoff],
        out_of_fold_rows=train.loc[at_cutoff].reset_index(drop=True),
    )


def expected_spend(
    model: CalibratedModel, X: pd.DataFrame, probability: np.ndarray, worth: pd.DataFrame
):
    """Expected orders and spend in the horizon (see the module docstring); ``worth``: the
    model's :func:`~pipeline.modelling.value.customer_value` of the same rows."""
    bgnbd = model.bgnbd_outputs(X)
    p_any = bgnbd["bgnbd_p_purchase"].to_numpy()
    orders_if_buying = np.where(
        p_any > 1e-9, bgnbd["bgnbd_expected_orders"].to_numpy() / np.maximum(p_any, 1e-9), 1.0
    )
    expected_orders = probability * np.maximum(orders_if_buying, 1.0)
    order_value = worth["expected_order_value"].to_numpy()
    if np.isnan(order_value).all():  # a model trained before Gamma-Gamma
        order_value = net_order_value(X)
    spend = expected_orders * order_value
    return expected_orders, spend, bgnbd["bgnbd_p_alive"].to_numpy()


def net_order_value(X: pd.DataFrame, cap_quantile: float = ORDER_VALUE_CAP_QUANTILE) -> np.ndarray:
    """Net spend / orders so far, capped at the ``cap_quantile`` of the customers scored."""
    value = np.maximum(X["monetary"].to_numpy(), 0.0) / np.maximum(X["frequency"].to_numpy(), 1.0)
    if len(value) == 0:
        return value
    return np.minimum(value, np.quantile(value, cap_quantile))


def next_order_dates(snapshot, days: pd.Series) -> pd.Series:
    """The snapshot's date plus the median wait, as dates (NaT without a value model)."""
    wait = pd.to_timedelta(np.round(days.to_numpy(np.float64)), unit="D")
    return pd.Series(pd.Timestamp(snapshot).normalize() + wait).dt.date.to_numpy()


@single_blas_thread
def score_propensity(
    model: CalibratedModel,
    frame: pd.DataFrame,
    *,
    windows: ModelWindows,
    model_name: str,
    model_version: str,
    explain: bool = True,
) -> pd.DataFrame:
    """scores.propensity rows for the customers of ``frame`` (features as of the snapshot);
    without the reason columns when not ``explain``."""
    X = model_input_frame(frame)
    probability = model.predict_proba(X)[:, 1]
    worth = customer_value(X, getattr(model, "value_params_", None))
    expected_orders, predicted_spend, p_alive = expected_spend(model, X, probability, worth)
    decile = (
        pd.Series(probability).rank(method="first").pipe(lambda r: np.ceil(10 * r / len(r)))
        if len(probability)
        else pd.Series([], dtype=float)
    )
    return pd.DataFrame(
        {
            "customer_id": frame["customer_id"].to_numpy(dtype=object),
            "purchase_probability": probability,
            "propensity_decile": decile.to_numpy(dtype=np.int64),
            "expected_orders": expected_orders,
            "predicted_spend": np.round(predicted_spend, 2),
            "bgnbd_p_alive": p_alive,
            # nullable: empty, not NaN, when the model carries no value parameters
            "expected_order_value": pd.array(worth["expected_order_value"].round(2), "Float64"),
            "clv_12m": pd.array(worth["clv_12m"].round(2), "Float64"),
            "next_order_date": next_order_dates(windows.snapshot, worth["days_to_next_order"]),
            **reason_columns(lambda: model.explain(X), explain),
            "model_name": model_name,
            "model_version": model_version,
            "model_kind": model.kind,
            "horizon_days": windows.horizon_days,
            "as_of": windows.snapshot,
            "horizon_end": windows.snapshot + windows.horizon,
        }
    )


def out_of_fold_predictions(data: TrainingData, training: PropensityTraining) -> pd.DataFrame:
    """Predictions for every customer of the evaluation window by a model that never saw
    that customer's outcome: training customers by the calibration's cross-fitting (fold
    models fitted without them), validation customers by the final model. Columns:
    customer_id, purchase_probability, expected_orders, predicted_spend, actual_orders,
    actual_spend. Expected orders use the final model's BG/NBD (four population
    parameters)."""
    rows = training.out_of_fold_rows
    parts = [
        _predicted(training.model, rows, model_input_frame(rows), training.out_of_fold),
        _predicted(training.model, data.validation, training.validation_inputs),
    ]
    return pd.concat(parts, ignore_index=True).sort_values("customer_id", ignore_index=True)


def _predicted(
    model: CalibratedModel, frame: pd.DataFrame, X: pd.DataFrame, probability=None
) -> pd.DataFrame:
    if probability is None:
        probability = model.predict_proba(X)[:, 1]
    worth = customer_value(X, getattr(model, "value_params_", None))
    expected_orders, predicted_spend, _ = expected_spend(model, X, probability, worth)
    return pd.DataFrame(
        {
            "customer_id": frame["customer_id"].to_numpy(dtype=object),
            "purchase_probability": probability,
            "expected_orders": expected_orders,
            "predicted_spend": predicted_spend,
            "actual_orders": frame["actual_orders"].to_numpy(),
            "actual_spend": frame["actual_spend"].to_numpy(),
        }
    )
