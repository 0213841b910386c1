"""MLflow for the models: what a training run records, and champion/challenger.

Inside an active MLflow run (opened by the caller, e.g. the Dagster ``mlflow`` resource's
``run()``), :func:`log_training` records parameters, metrics, the calibration plot and the
feature-importance tables as artifacts, and logs the model with its signature and an input
example. Models are saved with skops (MLflow's default, no pickle): our estimator classes
are named as trusted types. The pip requirements are given explicitly (the installed
versions), which spares MLflow inferring the environment by importing the model again.

:func:`champion_value` loads ``models:/NAME@champion`` and scores it on the challenger's
evaluation set; :func:`register` then registers the challenger and promotes it only if it
is better (:func:`pipeline.model_registry.register_and_maybe_promote`). Scoring always
loads the champion (:func:`pipeline.model_registry.load_champion`).
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from urllib.parse import unquote, urlparse

import pandas as pd

from pipeline.model_registry import (
    PromotionDecision,
    champion_version,
    load_model,
    register_and_maybe_promote,
)

log = logging.getLogger(__name__)

# Types inside the logged models that skops does not trust by default: our estimators,
# numpy dtypes and the gradient-boosting tree predictor (skops loads only trusted types).
TRUSTED_TYPES: tuple[str, ...] = (
    "numpy.dtype",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "pipeline.modelling.classifiers.CalibratedModel",
    "pipeline.modelling.median_imputer.MedianImputer",
    "pipeline.modelling.model_inputs.ModelInputs",
    "pipeline.modelling.model_inputs.BGNBDClassifier",
    "pipeline.modelling.model_inputs.ParetoNBDClassifier",
    "pipeline.modelling.product_propensity.CategoryPropensityModel",
)
METRIC_DECIMALS = 6
REQUIREMENTS: tuple[str, ...] = ("scikit-learn", "scipy", "numpy", "pandas", "skops")


def pip_requirements() -> list[str]:
    """The installed versions of what the models need to load (and this package)."""
    return [f"{name}=={version(name)}" for name in REQUIREMENTS]


@dataclass(frozen=True)
class LoggedModel:
    run_id: str
    model_uri: str
    artifact_uri: str

    def artifact(self, name: str) -> str:
        return f"{self.artifact_uri.rstrip('/')}/{name}"


def local_path(uri: str) -> Path | None:
    """The file behind a ``file:`` artifact URI, else None (a remote store)."""
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        return Path(unquote(parsed.path))
    return None


def log_training(
    *,
    model,
    input_example: pd.DataFrame,
    output_example,
    params: Mapping[str, object],
    metrics: Mapping[str, float],
    plots: Mapping[str, Callable[[Path], Path]],
    tables: Mapping[str, pd.DataFrame],
) -> LoggedModel:
    """Log one training run's content and the model into the active MLflow run."""
    import mlflow
    import mlflow.sklearn
    from mlflow.models import infer_signature

    run = mlflow.active_run()
    if run is None:
        raise RuntimeError("log_training needs an active MLflow run")
    mlflow.log_params({k: str(v)[:500] for k, v in params.items()})
    mlflow.log_metrics({k: float(v) for k, v in metrics.items() if not math.isnan(float(v))})
    with tempfile.TemporaryDirectory() as folder:
        for name, draw in plots.items():
            mlflow.log_artifact(str(draw(Path(folder) / name)))
        for name, table in tables.items():
            path = Path(folder) / name
            table.to_csv(path, index=False)
            mlflow.log_artifact(str(path))
    signature = infer_signature(input_example, output_example)
    info = mlflow.sklearn.log_model(
        model,
        name="model",
        signature=signature,
        input_example=input_example,
        pip_requirements=pip_requirements(),
        pyfunc_predict_fn="predict_proba",
        skops_trusted_types=list(TRUSTED_TYPES),
    )
    return LoggedModel(run.info.run_id, info.model_uri, mlflow.get_artifact_uri())


@dataclass(frozen=True)
class ChampionScore:
    version: str | None
    value: float | None
    note: str


def champion_value(model_name: str, client, evaluate: Callable[[object], float]) -> ChampionScore:
    """The current champion's metric on the challenger's evaluation set.

    None when there is no champion, or when it cannot load or score these inputs (another
    feature set, categories or code version); the note says which, and the challenger then
    takes over (see pipeline.model_registry).
    """
    current = champion_version(client, model_name)
    if current is None:
        return ChampionScore(None, None, "no champion yet")
    try:
        model = load_model(f"models:/{model_name}/{current.version}")
        value = float(evaluate(model))
    except (ValueError, KeyError, TypeError, AttributeError, OSError, ImportError) as error:
        log.warning("champion %s v%s cannot score: %s", model_name, current.version, error)
        return ChampionScore(
            str(current.version), None, f"champion v{current.version} cannot score: {error}"
        )
    return ChampionScore(str(current.version), value, f"champion v{current.version}")


def register(
    client,
    logged: LoggedModel,
    model_name: str,
    *,
    metric: str,
    value: float,
    champion: ChampionScore,
    tags: Mapping[str, str],
) -> PromotionDecision:
    """Register the challenger version and promote it if it beats the champion.

    Both figures are compared at 6 decimals: a difference below that is rounding noise
    (summation order), not a better model, and an equal score keeps the champion.
    """
    return register_and_maybe_promote(
        client,
        logged.model_uri,
        model_name,
        metric=metric,
        value=round(value, METRIC_DECIMALS),
        champion_value=None if champion.value is None else round(champion.value, METRIC_DECIMALS),
        higher_is_better=False,
        tags=dict(tags),
    )


_URI_VARIABLES = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")


def point_mlflow_at(uri: str) -> None:
    """Make ``uri`` MLflow's tracking and registry store in this process.

    MLflow also exports the URI as MLFLOW_TRACKING_URI for subprocesses; that export is
    undone, so the variables keep saying only what the user configured. Otherwise a store
    set for one task (a test's, the API's own copy) would become the default of every
    later task in the process."""
    import mlflow

    saved = {name: os.environ.get(name) for name in _URI_VARIABLES}
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
