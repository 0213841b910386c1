"""The decay signal: is the champion still as good as when it was chosen?

A champion was validated out of time when it was trained: its Brier score on held-out
customers is stored on its registry version (tag ``eval_brier``). As new days arrive, the
latest complete horizon moves forward. :func:`champion_decay` scores each champion on that
horizon (features as of the snapshot minus the horizon, outcomes in the horizon after it,
every customer) and compares: a Brier score worse than the validation figure by more than
the tolerance (default 10%, ``DECAY_TOLERANCE``) plus two standard errors of the recent
figure (so that a few hundred customers' sampling noise is not taken for decay) means the
model has decayed and should be retrained. A champion that can no longer score the
features has decayed too.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np

from pipeline.model_registry import champion_version, load_version
from pipeline.modelling.champion_scoring import stored_daily_orders
from pipeline.modelling.decay_features import features_at_cutoff
from pipeline.modelling.model_inputs import model_input_frame
from pipeline.modelling.model_runs import CHURN_MODEL, PROPENSITY_MODEL
from pipeline.modelling.training_frames import ModelWindows, window_frame

DEFAULT_DECAY_TOLERANCE = 0.10
VALIDATION_TAG = "eval_brier"
# What each model predicts, from the outcome columns of a window frame.
_OUTCOME = {
    CHURN_MODEL: lambda frame: ~frame["purchased"].to_numpy(dtype=bool),
    PROPENSITY_MODEL: lambda frame: frame["purchased"].to_numpy(dtype=bool),
}
MONITORED_MODELS = tuple(_OUTCOME)


@dataclass(frozen=True)
class DecaySignal:
    model_name: str
    champion_version: str | None
    validation_brier: float | None
    recent_brier: float | None
    window_start: dt.datetime
    window_end: dt.datetime
    customers: int
    tolerance: float
    problem: str = ""  # why the champion could not be judged or could not score
    standard_error: float = 0.0  # of the recent Brier score (a mean of squared errors)

    @property
    def limit(self) -> float | None:
        if self.validation_brier is None:
            return None
        return self.validation_brier * (1 + self.tolerance) + 2 * self.standard_error

    @property
    def decayed(self) -> bool:
        if self.champion_version is None:
            return False
        if self.recent_brier is None:
            return bool(self.problem)
        return self.limit is not None and self.recent_brier > self.limit

    @property
    def reason(self) -> str:
        window = f"{self.window_start:%Y-%m-%d} .. {self.window_end:%Y-%m-%d}"
        name = f"{self.model_name} v{self.champion_version}"
        if self.champion_version is None:
            return f"{self.model_name} has no champion yet: nothing to judge"
        if self.recent_brier is None and self.problem:
            return f"{name} {self.problem}: retrain"
        if self.recent_brier is None:
            return (
                f"{name}: no customer bought before {self.window_start:%Y-%m-%d}, nothing to judge"
            )
        if self.limit is None:
            return (
                f"{name} Brier {self.recent_brier:.4f} on {window}; its version has no "
                f"validation figure ({VALIDATION_TAG}) to compare with"
            )
        verdict = "decayed: retrain" if self.decayed else "within tolerance"
        return (
            f"{name} Brier {self.recent_brier:.4f} on the latest complete horizon {window} "
            f"({self.customers} customers) vs {self.validation_brier:.4f} at validation, "
            f"limit {self.limit:.4f} (+{self.tolerance:.0%} and 2 standard errors): {verdict}"
        )


def _validation_figure(version) -> float | None:
    try:
        value = float(version.tags.get(VALIDATION_TAG, "nan"))
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def champion_decay(
    connection: duckdb.DuckDBPyConnection,
    windows: ModelWindows,
    client,
    model_names: tuple[str, ...] = MONITORED_MODELS,
    tolerance: float = DEFAULT_DECAY_TOLERANCE,
    kept_features: Path | None = None,
) -> dict[str, DecaySignal]:
    """The champion of each of ``model_names`` judged on the latest complete horizon of
    ``windows`` (its cutoff and the horizon after it). The horizon's frame (features as of
    the cutoff, outcomes after it) is built once and every champion is scored on it; the
    features as of the cutoff are kept in ``kept_features`` for the next nights' cutoffs
    (:mod:`pipeline.modelling.decay_features`; None: computed, nothing kept)."""
    start, end = windows.cutoff, windows.cutoff_end
    frame = None
    signals = {}
    for model_name in model_names:
        current = champion_version(client, model_name)
        if current is None:
            signals[model_name] = DecaySignal(
                model_name, None, None, None, start, end, 0, tolerance
            )
            continue
        if frame is None:
            frame = window_frame(
                connection,
                start,
                windows.horizon_days,
                orders_per_day=stored_daily_orders(connection, windows.snapshot),
                features=features_at_cutoff(connection, start, windows.snapshot, kept_features),
            )
        signals[model_name] = _judge(model_name, current, frame, windows, tolerance)
    return signals


def _judge(model_name: str, current, frame, windows: ModelWindows, tolerance: float) -> DecaySignal:
    """The decay signal of the registry version ``current`` on the horizon's ``frame``."""
    start, end = windows.cutoff, windows.cutoff_end
    version, validation = str(current.version), _validation_figure(current)
    if frame.empty:
        return DecaySignal(model_name, version, validation, None, start, end, 0, tolerance)
    try:
        model = load_version(current)
        probability = model.predict_proba(model_input_frame(frame))[:, 1]
    except (ValueError, KeyError, TypeError, AttributeError, OSError, ImportError) as error:
        problem = f"cannot score the current features ({type(error).__name__}: {error})"
        return DecaySignal(
            model_name, version, validation, None, start, end, len(frame), tolerance, problem
        )
    squared_errors = (probability - _OUTCOME[model_name](frame).astype(np.float64)) ** 2
    recent = float(np.mean(squared_errors))
    standard_error = float(np.std(squared_errors) / math.sqrt(len(squared_errors)))
    return DecaySignal(
        model_name,
        version,
        validation,
        recent,
        start,
        end,
        len(frame),
        tolerance,
        standard_error=standard_error,
    )
