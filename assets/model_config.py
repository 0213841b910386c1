"""Run configuration of the model assets (training in assets/models.py, scoring in
assets/scores.py): the as-of date and horizon, shown in the launchpad, and how training
windows are laid out."""

import datetime as dt

from dagster import Config
from pydantic import Field

from pipeline.modelling.champion_scoring import scoring_windows
from pipeline.modelling.training_frames import MAX_TRAINING_ROWS, resolve_windows
from pipeline.settings import Settings


class ScoringConfig(Config):
    as_of_date: str | None = Field(
        default=None,
        description="Snapshot date YYYY-MM-DD the scores are as of; default AS_OF_DATE, else "
        "the day after the last purchase.",
    )
    horizon_days: int | None = Field(
        default=None, description="Prediction horizon in days; default HORIZON_DAYS (90)."
    )


class ModelConfig(ScoringConfig):
    """The as-of date and horizon (as for scoring), the windows and the seeds."""

    cutoff_date: str | None = Field(
        default=None,
        description="Evaluation cutoff YYYY-MM-DD (features before it, labels from the horizon "
        "after it); default: the snapshot minus the horizon (the last complete horizon).",
    )
    training_windows: int = Field(
        default=12, description="Earlier windows stacked for training (0: the cutoff only)."
    )
    window_step_days: int = Field(default=30, description="Days between training windows.")
    validation_share: float = Field(
        default=0.3, description="Share of the cutoff's customers held out for validation."
    )
    max_training_rows: int = Field(
        default=MAX_TRAINING_ROWS,
        ge=0,
        description="Cap on the training rows (customer x window): above it the earlier "
        "windows are sampled, the evaluation window kept whole (0: every row).",
    )
    max_categories: int = Field(default=12, description="Product categories to model.")
    random_seed: int = Field(default=42, description="Seed of the split and the models.")


def config_date(value: str | None, name: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as error:
        raise ValueError(f"{name} must be a date YYYY-MM-DD, got {value!r}") from error


def model_windows(connection, settings: Settings, config: ModelConfig | ScoringConfig):
    """Snapshot and horizon from the run config, else from the environment."""
    windows = scoring_windows(
        connection,
        config_date(config.as_of_date, "as_of_date") or settings.as_of,
        config.horizon_days or settings.horizon_days,
    )
    if not isinstance(config, ModelConfig):
        return windows
    cutoff = config_date(config.cutoff_date, "cutoff_date")
    return resolve_windows(
        windows.snapshot,
        windows.horizon_days,
        cutoff=dt.datetime.combine(cutoff, dt.time()) if cutoff else None,
        training_windows=config.training_windows,
        window_step_days=config.window_step_days,
    )
