"""Train, track, register and load the champion: one function per model.

Each ``run_*`` function trains on a :class:`~pipeline.modelling.training_frames.TrainingData`,
opens one MLflow run through ``tracking`` (anything with ``client()`` and a
``run(name, tags)`` context manager that always ends the run, such as the Dagster resource
``resources.mlflow_tracking.ModelTracking``), logs parameters, metrics, the calibration plot,
tables and the model, scores the current champion on the same validation customers,
registers the new version as challenger (promoted if better on the Brier score), and loads
``models:/NAME@champion`` for scoring.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.model_registry import PromotionDecision, load_champion
from pipeline.modelling.churn import ChurnTraining, train_churn
from pipeline.modelling.evaluation import Evaluation, calibration_plot
from pipeline.modelling.product_propensity import (
    ProductTraining,
    micro_brier,
    train_product_propensity,
)
from pipeline.modelling.propensity import PropensityTraining, train_propensity
from pipeline.modelling.tracking import (
    ChampionScore,
    LoggedModel,
    champion_value,
    log_training,
    register,
)
from pipeline.modelling.training_frames import TrainingData

CHURN_MODEL = "customer_churn"
PROPENSITY_MODEL = "purchase_propensity"
PRODUCT_MODEL = "product_category_propensity"
SELECTION_METRIC = "brier"
CALIBRATION_PLOT = "calibration.png"


@dataclass
class RegisteredModel:
    name: str
    logged: LoggedModel
    champion_before: ChampionScore
    decision: PromotionDecision
    scorer: object  # models:/NAME@champion after the decision
    scorer_version: str
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def calibration_plot_uri(self) -> str:
        return self.logged.artifact(CALIBRATION_PLOT)


def _window_params(data: TrainingData) -> dict[str, object]:
    windows = data.windows
    return {
        "snapshot": windows.snapshot.date().isoformat(),
        "cutoff": windows.cutoff.date().isoformat(),
        "horizon_days": windows.horizon_days,
        "training_windows": len(data.window_starts),
        "window_step_days": windows.window_step_days,
        "earliest_window": min(data.window_starts).date().isoformat(),
        "training_rows": len(data.train),
        "earlier_windows_share_kept": round(data.earlier_share, 4),
        "training_customers": data.train["customer_id"].nunique(),
        "validation_customers": len(data.validation),
    }


def _calibration(evaluation: Evaluation, title: str) -> Callable[[Path], Path]:
    def draw(path: Path) -> Path:
        return calibration_plot(evaluation.y_true, evaluation.predictions, path, title)

    return draw


def _track_and_register(
    tracking,
    *,
    name: str,
    tags: Mapping[str, str],
    model,
    input_example: pd.DataFrame,
    output_example,
    params: Mapping[str, object],
    evaluation: Evaluation,
    value: float,
    evaluate_champion: Callable[[object], float],
    tables: Mapping[str, pd.DataFrame],
    title: str,
) -> RegisteredModel:
    seconds: dict[str, float] = {}
    client = tracking.client()
    started = time.perf_counter()
    with tracking.run(f"{name} {params['snapshot']}", dict(tags)):
        logged = log_training(
            model=model,
            input_example=input_example,
            output_example=output_example,
            params=params,
            metrics=evaluation.flat_metrics("valid_"),
            plots={CALIBRATION_PLOT: _calibration(evaluation, title)},
            tables={"metrics.csv": evaluation.table().reset_index(names="model"), **tables},
        )
        seconds["log_model"] = time.perf_counter() - started
        started = time.perf_counter()
        champion = champion_value(name, client, evaluate_champion)
        decision = register(
            client,
            logged,
            name,
            metric=SELECTION_METRIC,
            value=value,
            champion=champion,
            tags=tags,
        )
        client.set_tag(logged.run_id, "champion_decision", decision.summary)
        if champion.value is not None:
            client.log_metric(logged.run_id, "champion_valid_brier", champion.value)
    scorer, version = load_champion(client, name)
    seconds["registry"] = time.perf_counter() - started
    return RegisteredModel(name, logged, champion, decision, scorer, version, seconds)


def _brier(model, X: pd.DataFrame, y: np.ndarray) -> float:
    p = model.predict_proba(X)[:, 1]
    return float(np.mean((p - y.astype(np.float64)) ** 2))


def run_churn(
    data: TrainingData, tracking, tags: Mapping[str, str]
) -> tuple[ChurnTraining, RegisteredModel]:
    training = train_churn(data)
    return training, register_churn(data, training, tracking, tags)


def register_churn(
    data: TrainingData, training: ChurnTraining, tracking, tags: Mapping[str, str]
) -> RegisteredModel:
    X, y = training.validation_inputs, training.validation_outcome
    return _track_and_register(
        tracking,
        name=CHURN_MODEL,
        tags={**tags, "model_kind": "logistic"},
        model=training.model,
        input_example=X.head(5),
        output_example=training.model.predict_proba(X.head(5)),
        params={**_window_params(data), "model": "logistic regression, standardised, C=1"},
        evaluation=training.evaluation,
        value=training.validation_brier,
        evaluate_champion=lambda champion: _brier(champion, X, y),
        tables={"feature_importance.csv": training.coefficients},
        title="Churn: validation customers at the cutoff",
    )


def run_propensity(
    data: TrainingData, tracking, tags: Mapping[str, str], *, random_state: int = 42
) -> tuple[PropensityTraining, RegisteredModel]:
    training = train_propensity(data, random_state=random_state)
    return training, register_propensity(data, training, tracking, tags)


def register_propensity(
    data: TrainingData, training: PropensityTraining, tracking, tags: Mapping[str, str]
) -> RegisteredModel:
    X, y = training.validation_inputs, training.validation_outcome
    bgnbd = training.model.explainer_.named_steps["inputs"].bgnbd_params_
    return _track_and_register(
        tracking,
        name=PROPENSITY_MODEL,
        tags={**tags, "model_kind": training.selected},
        model=training.model,
        input_example=X.head(5),
        output_example=training.model.predict_proba(X.head(5)),
        params={
            **_window_params(data),
            "selected": training.selected,
            "calibration": f"Platt (sigmoid) on {training.model.folds}-fold out-of-fold scores, "
            "folds by customer, "
            f"fitted on {training.model.calibration_.replace('_', ' ')}",
            **{f"bgnbd_{k}": round(v, 6) for k, v in bgnbd.items()},
        },
        evaluation=training.evaluation,
        value=training.validation_brier,
        evaluate_champion=lambda champion: _brier(champion, X, y),
        tables={
            "feature_importance.csv": training.importance,
            "coefficients.csv": training.coefficients,
        },
        title="Purchase propensity: validation customers at the cutoff",
    )


def run_product_propensity(
    data: TrainingData, tracking, tags: Mapping[str, str]
) -> tuple[ProductTraining, RegisteredModel]:
    training = train_product_propensity(data)
    return training, register_product_propensity(data, training, tracking, tags)


def register_product_propensity(
    data: TrainingData, training: ProductTraining, tracking, tags: Mapping[str, str]
) -> RegisteredModel:
    X, outcomes = training.validation_inputs, training.validation_outcomes
    return _track_and_register(
        tracking,
        name=PRODUCT_MODEL,
        tags={**tags, "model_kind": "logistic_per_category"},
        model=training.model,
        input_example=X.head(5),
        output_example=training.model.predict_proba(X.head(5)),
        params={**_window_params(data), "categories": ",".join(training.model.categories_)},
        evaluation=training.evaluation,
        value=training.validation_brier,
        evaluate_champion=lambda champion: micro_brier(champion, X, outcomes),
        tables={
            "category_metrics.csv": training.per_category,
            "feature_importance.csv": training.model.coefficients(),
        },
        title="Product categories: validation customer x category cells",
    )
