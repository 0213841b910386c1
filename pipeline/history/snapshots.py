"""Compute and store customer snapshots: ``history.customer_snapshots``, keyed by
(snapshot_date, customer_id).

Writing a date replaces that date's rows in one transaction, so a snapshot is either the
old one or the new one, never half of each. The champions are loaded once
(:func:`load_snapshot_models`) and every date of a backfill is computed with them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import duckdb
import pandas as pd

from pipeline.action_rules import ActionPlan, action_case_sql
from pipeline.catalog.ddl import create_tables_sql
from pipeline.model_registry import champion_version, load_version
from pipeline.modelling.champion_scoring import score_frame
from pipeline.modelling.model_runs import CHURN_MODEL, PROPENSITY_MODEL
from pipeline.modelling.training_frames import features_at, resolve_windows, scoring_frame
from pipeline.segmentation.tracking import (
    PERSONA_MODEL,
    STYLE_MODEL,
    VALUE_MODEL,
    assign_segments,
)
from pipeline.segmentation.warehouse import style_features
from pipeline.sql_files import SqlFiles
from pipeline.sql_text import transaction

HISTORY_TABLE = "history.customer_snapshots"
# Dates whose features are computed in one pass: a quarter of weekly snapshots. The frames of
# a batch are held at once (customers x dates rows).
FEATURE_BATCH_DATES = 13
SNAPSHOT_ROWS_SQL = SqlFiles(__package__).read("snapshot_rows.sql")
# The temp views the snapshot SQL reads, and the columns each one needs.
_FEATURES_VIEW = "_history_features"
_LABEL_COLUMNS = ["customer_id", "value_segment", "value_score", "purchase_style"]
_LABEL_COLUMNS += ["value_style_label", "persona"]
_CHURN_COLUMNS = ["customer_id", "churn_probability", "churn_risk_pct", "churn_risk_band"]
_PROPENSITY_COLUMNS = ["customer_id", "purchase_probability", "propensity_decile"]
_PROPENSITY_COLUMNS += ["expected_orders", "predicted_spend"]


@dataclass(frozen=True)
class SnapshotModels:
    """The champions a snapshot is computed with: model name -> (estimator, version)."""

    champions: dict[str, tuple[object, str]]

    def model(self, name: str):
        return self.champions[name][0]

    def version(self, name: str) -> str:
        return self.champions[name][1]

    def versions(self) -> dict[str, str]:
        return {name: version for name, (_, version) in self.champions.items()}


SNAPSHOT_MODELS = (VALUE_MODEL, STYLE_MODEL, PERSONA_MODEL, CHURN_MODEL, PROPENSITY_MODEL)


def load_snapshot_models(client) -> SnapshotModels:
    """The current champion of every model a snapshot uses, each version loaded once per
    process (:func:`~pipeline.model_registry.load_version`: a backfill of dates a month apart
    is one run per date, all in one process); LookupError naming the model when one has
    none yet (train the models first)."""
    champions = {}
    for name in SNAPSHOT_MODELS:
        current = champion_version(client, name)
        if current is None:
            raise LookupError(
                f"{name} has no champion: a history snapshot needs every champion; run the "
                "job `refresh` (or materialize the segments and models/train_models) first"
            )
        champions[name] = (load_version(current), str(current.version))
    return SnapshotModels(champions)


def ensure_history_table(connection: duckdb.DuckDBPyConnection) -> None:
    connection.execute(create_tables_sql(HISTORY_TABLE))


def _snapshot_frames(
    connection: duckdb.DuckDBPyConnection,
    snapshot_date: dt.date,
    models: SnapshotModels,
    horizon_days: int,
    features: pd.DataFrame | None = None,
) -> dict[str, pd.DataFrame] | None:
    """The frames of one date, each computed by the function the nightly tables use; None
    when no customer had bought before the date. ``features``: the date's scoring frame,
    when it was computed with other dates' in one pass (:func:`write_snapshots`)."""
    windows = resolve_windows(_midnight(snapshot_date), horizon_days)
    # customer_features plus the trading-clock columns the scoring models need.
    if features is None:
        features = scoring_frame(connection, windows)
    if features.empty:
        return None
    connection.register(_FEATURES_VIEW, features)
    try:
        style = style_features(connection, features_table=_FEATURES_VIEW)
    finally:
        connection.unregister(_FEATURES_VIEW)
    labels = assign_segments(
        features.merge(style.drop(columns=["as_of"]), on="customer_id", how="left"),
        models=(models.model(VALUE_MODEL), models.model(PERSONA_MODEL), models.model(STYLE_MODEL)),
    )
    scores = {
        name: score_frame(
            name, models.model(name), models.version(name), features, windows, explain=False
        )
        for name in (CHURN_MODEL, PROPENSITY_MODEL)
    }
    return {
        _FEATURES_VIEW: features,
        "_history_labels": labels[_LABEL_COLUMNS],
        "_history_churn": scores[CHURN_MODEL][_CHURN_COLUMNS],
        "_history_propensity": scores[PROPENSITY_MODEL][_PROPENSITY_COLUMNS],
    }


def _snapshot_parameters(
    snapshot_date: dt.date, models: SnapshotModels, horizon_days: int, computed_at: dt.datetime
) -> dict[str, object]:
    return {
        "snapshot_date": snapshot_date,
        "horizon_days": horizon_days,
        "value_model_version": models.version(VALUE_MODEL),
        "style_model_version": models.version(STYLE_MODEL),
        "persona_model_version": models.version(PERSONA_MODEL),
        "churn_model_version": models.version(CHURN_MODEL),
        "propensity_model_version": models.version(PROPENSITY_MODEL),
        "computed_at": computed_at,
    }


def _replace_date(
    connection: duckdb.DuckDBPyConnection, snapshot_date: dt.date, plan: ActionPlan
) -> int:
    """Replace ``snapshot_date``'s rows with _history_rows plus the plan's action, in one
    transaction; returns the rows written."""
    columns = {row[0] for row in connection.execute("DESCRIBE _history_rows").fetchall()}
    case, parameters = action_case_sql(plan, columns)
    rules = plan.all_rules
    parameters |= {
        "actions": [rule.action for rule in rules],
        "channels": [rule.channel for rule in rules],
        "snapshot_date": snapshot_date,
    }
    with transaction(connection):
        connection.execute(
            "DELETE FROM history.customer_snapshots WHERE snapshot_date = $snapshot_date",
            {"snapshot_date": snapshot_date},
        )
        connection.execute(
            f"""
            INSERT INTO history.customer_snapshots BY NAME
            SELECT * EXCLUDE (rule_index),
                   $actions[rule_index + 1] AS action,
                   $channels[rule_index + 1] AS action_channel
            FROM (SELECT *, {case} AS rule_index FROM _history_rows)
            WHERE snapshot_date = $snapshot_date
            ORDER BY customer_id
            """,
            parameters,
        )
        (written,) = connection.execute(
            "SELECT count(*) FROM history.customer_snapshots WHERE snapshot_date = $snapshot_date",
            {"snapshot_date": snapshot_date},
        ).fetchone()
    return int(written)


def write_snapshot(
    connection: duckdb.DuckDBPyConnection,
    snapshot_date: dt.date,
    models: SnapshotModels,
    plan: ActionPlan,
    horizon_days: int,
    computed_at: dt.datetime | None = None,
    features: pd.DataFrame | None = None,
) -> int:
    """Compute the snapshot of ``snapshot_date`` and replace that date's rows with it;
    returns the customers written (0, and the date emptied, before the first purchase).
    ``features``: the date's scoring frame, if already computed."""
    ensure_history_table(connection)
    computed_at = computed_at or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    frames = _snapshot_frames(connection, snapshot_date, models, horizon_days, features)
    if frames is None:
        connection.execute(
            "DELETE FROM history.customer_snapshots WHERE snapshot_date = $d", {"d": snapshot_date}
        )
        return 0
    for name, frame in frames.items():
        connection.register(name, frame)
    try:
        connection.execute(
            SNAPSHOT_ROWS_SQL,
            _snapshot_parameters(snapshot_date, models, horizon_days, computed_at),
        )
    finally:
        for name in frames:
            connection.unregister(name)
    try:
        return _replace_date(connection, snapshot_date, plan)
    finally:
        connection.execute("DROP TABLE IF EXISTS _history_rows")


def write_snapshots(
    connection: duckdb.DuckDBPyConnection,
    dates: Iterable[dt.date],
    models: SnapshotModels,
    plan: ActionPlan,
    horizon_days: int,
    progress: Callable[[dt.date, int], None] | None = None,
) -> dict[dt.date, int]:
    """Write the snapshot of each date (one transaction per date); date -> customers. The
    features of up to ``FEATURE_BATCH_DATES`` dates at a time are computed in one pass over
    the lines (:func:`pipeline.modelling.training_frames.features_at`, the training windows'
    computation), each equal to what the date alone gives."""
    computed_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    written = {}
    ordered = sorted(set(dates))
    for first in range(0, len(ordered), FEATURE_BATCH_DATES):
        batch = ordered[first : first + FEATURE_BATCH_DATES]
        frames = features_at(connection, [_midnight(d) for d in batch], horizon_days)
        for snapshot_date, features in zip(batch, frames, strict=True):
            written[snapshot_date] = write_snapshot(
                connection, snapshot_date, models, plan, horizon_days, computed_at, features
            )
            if progress is not None:
                progress(snapshot_date, written[snapshot_date])
    return written


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time())


def retained_dates(
    connection: duckdb.DuckDBPyConnection, dates: Iterable[dt.date], retention_days: int
) -> list[dt.date]:
    """The ``dates`` the retention would keep once they are written (0 keeps every date):
    a backfill longer than the retention does not compute snapshots only to delete them."""
    dates = sorted(set(dates))
    if retention_days <= 0 or not dates:
        return dates
    ensure_history_table(connection)
    (stored,) = connection.execute(
        "SELECT max(snapshot_date) FROM history.customer_snapshots"
    ).fetchone()
    newest = max(dates[-1], stored) if stored is not None else dates[-1]
    oldest = newest - dt.timedelta(days=retention_days)
    return [day for day in dates if day >= oldest]


def apply_retention(connection: duckdb.DuckDBPyConnection, retention_days: int) -> list[dt.date]:
    """Delete the snapshots older than ``retention_days`` before the newest one (0 keeps
    every date); returns the dates deleted."""
    ensure_history_table(connection)
    if retention_days <= 0:
        return []
    rows = connection.execute(
        """
        SELECT DISTINCT snapshot_date FROM history.customer_snapshots
        WHERE snapshot_date < (SELECT max(snapshot_date) FROM history.customer_snapshots)
                              - to_days($days::INTEGER)
        ORDER BY snapshot_date
        """,
        {"days": retention_days},
    ).fetchall()
    dates = [day for (day,) in rows]
    if dates:
        connection.execute(
            "DELETE FROM history.customer_snapshots WHERE list_contains($dates, snapshot_date)",
            {"dates": dates},
        )
    return dates


CADENCES = ("day", "week", "month")


def backfill_dates(start: dt.date, end: dt.date, every: str = "day") -> list[dt.date]:
    """The snapshot dates from ``start`` to ``end`` (both included) every day, week (same
    weekday as ``start``) or month (same day of the month as ``start``, or the month's last
    day when it is shorter)."""
    if end < start:
        raise ValueError(f"the end {end} is before the start {start}")
    if every not in CADENCES:
        raise ValueError(f"every must be one of {', '.join(CADENCES)}, got {every!r}")
    if every != "month":
        step = dt.timedelta(days=1 if every == "day" else 7)
        return [start + k * step for k in range((end - start) // step + 1)]
    dates, month = [], 0
    while (candidate := shift_months(start, month)) <= end:
        dates.append(candidate)
        month += 1
    return dates


def shift_months(day: dt.date, months: int) -> dt.date:
    """The same day of the month ``months`` later (earlier when negative), or that month's
    last day when it is shorter."""
    year, index = divmod(day.month - 1 + months, 12)
    first = dt.date(day.year + year, index + 1, 1)
    following = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first.replace(day=min(day.day, (following - dt.timedelta(days=1)).day))
