"""One training run of every model, apart from scoring.

:func:`train_models` fits churn, purchase propensity and product-category propensity on one
:class:`~pipeline.modelling.training_frames.TrainingData`, registers each new version and
lets it take ``champion`` only when it beats the champion (:mod:`model_runs`). What the run
leaves besides the registered versions is built here too: scores.horizon_predictions (the
propensity model's out-of-fold predictions on the last complete horizon, which only a
training run has; marts.underperformers classifies them) and the model report tables
(:mod:`model_report`). Scoring with ``models:/NAME@champion`` is separate
(:mod:`pipeline.modelling.champion_scoring`) and runs on every refresh.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from pipeline.modelling.churn import MODEL as CHURN_CANDIDATE
from pipeline.modelling.churn import ChurnTraining
from pipeline.modelling.model_report import calibration_rows, coefficient_rows, validation_rows
from pipeline.modelling.model_runs import (
    CHURN_MODEL,
    PRODUCT_MODEL,
    PROPENSITY_MODEL,
    RegisteredModel,
    run_churn,
    run_product_propensity,
    run_propensity,
)
from pipeline.modelling.product_propensity import MODEL as PRODUCT_CANDIDATE
from pipeline.modelling.product_propensity import NoCategoryToModel, ProductTraining
from pipeline.modelling.propensity import FINAL as PROPENSITY_CANDIDATE
from pipeline.modelling.propensity import PropensityTraining, out_of_fold_predictions
from pipeline.modelling.training_frames import ModelWindows, TrainingData

EVALUATION, CALIBRATION = "scores.model_evaluation", "scores.calibration_curve"
COEFFICIENTS = "scores.churn_coefficients"
HORIZON_PREDICTIONS = "scores.horizon_predictions"
REPORT_TABLES = (EVALUATION, CALIBRATION, COEFFICIENTS)


@dataclass
class TrainedModels:
    """What one training run produced: each model's training result and its registered
    version (with the champion after the decision); product is None without categories."""

    data: TrainingData
    churn: ChurnTraining
    churn_model: RegisteredModel
    propensity: PropensityTraining
    propensity_model: RegisteredModel
    product: ProductTraining | None = None
    product_model: RegisteredModel | None = None
    product_note: str = ""
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def windows(self) -> ModelWindows:
        return self.data.windows

    @property
    def registered(self) -> list[RegisteredModel]:
        models = [self.churn_model, self.propensity_model, self.product_model]
        return [m for m in models if m is not None]


def train_models(
    data: TrainingData,
    tracking,
    tags: Mapping[str, str],
    *,
    random_seed: int = 42,
    asset_keys: Mapping[str, str] | None = None,
) -> TrainedModels:
    """Fit, track, register (and maybe promote) the three models on ``data``; each MLflow
    run is tagged with ``tags`` and the asset key of its model (``asset_keys``: model name
    -> key)."""
    seconds: dict[str, float] = {}

    def timed(name, train):
        began = time.perf_counter()
        result = train()
        seconds[name] = time.perf_counter() - began
        return result

    def tags_for(model_name: str) -> dict[str, str]:
        return {**tags, "dagster_asset_key": (asset_keys or {}).get(model_name, model_name)}

    churn, churn_model = timed("churn", lambda: run_churn(data, tracking, tags_for(CHURN_MODEL)))
    propensity, propensity_model = timed(
        "propensity",
        lambda: run_propensity(
            data, tracking, tags_for(PROPENSITY_MODEL), random_state=random_seed
        ),
    )
    trained = TrainedModels(data, churn, churn_model, propensity, propensity_model)
    trained.seconds = seconds
    if not data.categories:
        trained.product_note = (
            "product propensity skipped: no product categories: the data has no stock "
            "codes/descriptions, or no category had enough buyers"
        )
        return trained
    try:
        trained.product, trained.product_model = timed(
            "product propensity",
            lambda: run_product_propensity(data, tracking, tags_for(PRODUCT_MODEL)),
        )
    except NoCategoryToModel as skipped:
        trained.product_note = f"product propensity skipped: {skipped}"
    return trained


def horizon_prediction_rows(trained: TrainedModels) -> pd.DataFrame:
    """scores.horizon_predictions: predicted vs actual spend of every customer of the last
    complete horizon, by a propensity model that never saw that customer's outcome, with
    the customer's orders and net spend before the cutoff."""
    windows, data = trained.windows, trained.data
    predicted = out_of_fold_predictions(data, trained.propensity)
    before = data.evaluation_window[["customer_id", "frequency", "monetary"]].rename(
        columns={"frequency": "orders_before", "monetary": "net_spend_before"}
    )
    predicted = predicted.merge(before, on="customer_id", how="left", validate="one_to_one")
    predicted["window_start"] = windows.cutoff
    predicted["window_end"] = windows.cutoff_end
    predicted["model_name"] = trained.propensity_model.name
    predicted["model_version"] = f"{trained.propensity_model.decision.version} (out-of-fold)"
    return predicted


def _validated(trained: TrainedModels):
    pairs = [
        (trained.churn_model, trained.churn, CHURN_CANDIDATE),
        (trained.propensity_model, trained.propensity, PROPENSITY_CANDIDATE),
    ]
    if trained.product_model is not None:
        pairs.append((trained.product_model, trained.product, PRODUCT_CANDIDATE))
    return pairs


def report_tables(trained: TrainedModels) -> dict[str, pd.DataFrame]:
    """The rows of scores.model_evaluation, scores.calibration_curve and
    scores.churn_coefficients: validation figures of the versions trained in this run and
    the churn champion's coefficients (the demo truth's figures are scores.truth_evaluation,
    :mod:`pipeline.modelling.truth_report`)."""
    windows = trained.windows
    evaluation, calibration = [], []
    for registered, training, candidate in _validated(trained):
        common = {
            "model_name": registered.name,
            "model_version": registered.decision.version,
            "registered": candidate,
        }
        evaluation.append(
            validation_rows(
                training.evaluation,
                **common,
                champion_version=registered.scorer_version,
                cutoff=windows.cutoff,
            )
        )
        calibration.append(calibration_rows(training.evaluation, **common))
    churn = trained.churn_model
    return {
        EVALUATION: pd.concat(evaluation, ignore_index=True),
        CALIBRATION: pd.concat(calibration, ignore_index=True),
        COEFFICIENTS: coefficient_rows(
            churn.scorer, model_name=churn.name, model_version=churn.scorer_version
        ),
    }
