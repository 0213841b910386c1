"""Champion/challenger promotion in the MLflow model registry.

Every trained model is registered as a new version with the alias ``challenger``. It takes
the alias ``champion`` only when it beats the current champion on the same out-of-time
evaluation (the caller scores the loaded champion on the challenger's evaluation set and
passes both figures), or when there is no champion yet. Scoring always loads
``models:/NAME@champion``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlflow import MlflowClient

CHAMPION = "champion"
CHALLENGER = "challenger"

# The estimator last loaded per (registry, model name), with what identifies its version: a
# run loads a champion for the decay check and each score table, and a version's artifacts
# never change once registered.
_LOADED: dict[tuple[str, str], tuple[tuple, object]] = {}
_LOADED_LOCK = threading.Lock()


@dataclass(frozen=True)
class PromotionDecision:
    model_name: str
    version: str
    promoted: bool
    metric: str
    challenger_value: float
    champion_version: str | None
    champion_value: float | None

    @property
    def summary(self) -> str:
        if self.champion_version is None:
            return f"{self.model_name} v{self.version} is the first champion"
        if self.champion_value is None:
            return (
                f"{self.model_name} v{self.version} replaces champion v{self.champion_version} "
                "(no comparison on this evaluation set)"
            )
        verdict = "promoted" if self.promoted else "kept the champion"
        return (
            f"{self.model_name} v{self.version} {self.metric}={self.challenger_value:.4f} vs "
            f"champion v{self.champion_version} {self.champion_value:.4f}: {verdict}"
        )


def is_better(candidate: float, incumbent: float, higher_is_better: bool) -> bool:
    """Strictly better: an equal score keeps the incumbent."""
    return candidate > incumbent if higher_is_better else candidate < incumbent


def register_and_maybe_promote(
    client: MlflowClient,
    model_uri: str,
    model_name: str,
    *,
    metric: str,
    value: float,
    champion_value: float | None,
    higher_is_better: bool,
    tags: dict[str, str] | None = None,
) -> PromotionDecision:
    """Register ``model_uri`` as a new challenger version; promote it if it wins.

    ``champion_value`` is the current champion's ``metric`` on the same evaluation set, or
    None when there is no champion or it cannot score this data (its features changed), in
    which case the challenger takes over.
    """
    import mlflow

    version = mlflow.register_model(model_uri, model_name, tags=tags).version
    client.set_model_version_tag(model_name, version, f"eval_{metric}", str(value))
    client.set_registered_model_alias(model_name, CHALLENGER, version)

    champion = champion_version(client, model_name)
    if champion is None:
        champion_value = None
    promote = (
        champion is None
        or champion_value is None
        or is_better(value, champion_value, higher_is_better)
    )
    if promote:
        client.set_registered_model_alias(model_name, CHAMPION, version)
    return PromotionDecision(
        model_name=model_name,
        version=str(version),
        promoted=promote,
        metric=metric,
        challenger_value=value,
        champion_version=None if champion is None else str(champion.version),
        champion_value=champion_value,
    )


def champion_version(client: MlflowClient, model_name: str):
    """The champion ModelVersion, or None when the model or the alias does not exist."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(model_name, CHAMPION)
    except MlflowException:
        return None


def champion_uri(model_name: str) -> str:
    return f"models:/{model_name}@{CHAMPION}"


def load_model(uri: str):
    """The scikit-learn estimator behind a ``models:/`` or ``runs:/`` URI."""
    import mlflow.sklearn

    return mlflow.sklearn.load_model(uri)


def load_version(current) -> object:
    """The estimator of the registry version ``current`` (a ModelVersion), loaded once per
    process: later calls for the same version (same number, run, source and creation time,
    in the same registry) return the estimator already loaded; another version of the model
    is loaded and replaces it."""
    import mlflow

    key = (mlflow.get_registry_uri(), current.name)
    identity = (str(current.version), current.run_id, current.source, current.creation_timestamp)
    with _LOADED_LOCK:
        cached = _LOADED.get(key)
        if cached is not None and cached[0] == identity:
            return cached[1]
        model = load_model(f"models:/{current.name}/{current.version}")
        _LOADED[key] = (identity, model)
        return model


def load_champion(client: MlflowClient, model_name: str) -> tuple[object, str]:
    """(the champion estimator, its version). The alias is read once and the model loaded
    by that version (:func:`load_version`), so the pair agrees even if the alias moves
    meanwhile."""
    current = champion_version(client, model_name)
    if current is None:
        raise LookupError(f"{model_name} has no champion: run the refresh job first")
    return load_version(current), str(current.version)
