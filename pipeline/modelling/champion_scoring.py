"""Scoring with the registered champions, apart from training.

Every refresh scores the customers as of the snapshot with ``models:/NAME@champion``: the
features are read from the warehouse, the champion is loaded from the registry, and no model
is fitted. Each score table is scored on its own (:func:`score_with_champion`), so one can be
rebuilt without the others (:mod:`pipeline.modelling.truth_report` compares the written
score tables with the demo data's real outcomes).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import pandas as pd

from pipeline.catalog.writer import empty_frame
from pipeline.model_registry import load_champion
from pipeline.modelling.churn import score_churn
from pipeline.modelling.model_runs import CHURN_MODEL, PRODUCT_MODEL, PROPENSITY_MODEL
from pipeline.modelling.product_propensity import score_product_propensity
from pipeline.modelling.propensity import score_propensity
from pipeline.modelling.training_frames import (
    ModelWindows,
    resolve_snapshot,
    resolve_windows,
    scoring_frame,
)
from pipeline.serving.daily_orders import read_daily_orders
from pipeline.sql_text import quote_identifier

SCORE_TABLES = {
    CHURN_MODEL: "scores.churn",
    PROPENSITY_MODEL: "scores.propensity",
    PRODUCT_MODEL: "scores.product_propensity",
}
_SCORERS = {
    CHURN_MODEL: score_churn,
    PROPENSITY_MODEL: score_propensity,
    PRODUCT_MODEL: score_product_propensity,
}


@dataclass(frozen=True)
class ChampionScores:
    model_name: str
    model_version: str | None  # None: no champion (product propensity without products)
    scores: pd.DataFrame
    note: str = ""


def scoring_windows(
    connection: duckdb.DuckDBPyConnection, as_of: dt.date | None, horizon_days: int
) -> ModelWindows:
    """The snapshot (``as_of``, else the day after the last purchase) and the horizon the
    scores predict."""
    return resolve_windows(resolve_snapshot(connection, as_of), horizon_days)


def _categories(model) -> tuple[str, ...]:
    return tuple(getattr(model, "categories_", ()))


def score_with_champion(
    connection: duckdb.DuckDBPyConnection, windows: ModelWindows, client, model_name: str
) -> ChampionScores:
    """The rows of ``model_name``'s score table, scored by its champion.

    Without a champion, product propensity writes an empty table (data without products
    trains no such model); the other models raise LookupError naming what to run."""
    table = SCORE_TABLES[model_name]
    try:
        model, version = load_champion(client, model_name)
    except LookupError as missing:
        if model_name == PRODUCT_MODEL:
            return ChampionScores(model_name, None, empty_frame(table), f"{missing}: empty table")
        raise LookupError(
            f"{missing}: train the models first (materialize the asset models/{model_name}, "
            "or run the job `refresh`)"
        ) from missing
    frame = snapshot_frame(connection, windows, _categories(model))
    scores = score_frame(model_name, model, version, frame, windows)
    return ChampionScores(model_name, version, scores)


def snapshot_frame(
    connection: duckdb.DuckDBPyConnection, windows: ModelWindows, categories: tuple[str, ...]
) -> pd.DataFrame:
    """The scoring frame as of the snapshot, from the stored customer features and orders
    per day where they hold that date (else computed from the lines)."""
    return scoring_frame(
        connection,
        windows,
        categories,
        features=stored_features(connection, windows.snapshot),
        orders_per_day=stored_daily_orders(connection, windows.snapshot),
    )


def holds_snapshot(
    connection: duckdb.DuckDBPyConnection, schema: str, table: str, snapshot: dt.datetime
) -> bool:
    """Whether ``schema.table`` exists and its as_of column holds ``snapshot`` only."""
    exists = connection.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = $schema "
        "AND table_name = $table AND database_name = current_database() AND NOT temporary",
        {"schema": schema, "table": table},
    ).fetchone()[0]
    if not exists:
        return False
    dates = connection.execute(
        f"SELECT DISTINCT as_of FROM {quote_identifier(schema)}.{quote_identifier(table)}"
    ).fetchall()
    return dates == [(snapshot,)]


def stored_features(
    connection: duckdb.DuckDBPyConnection, snapshot: dt.datetime
) -> pd.DataFrame | None:
    """features.customer_rfm when it holds the customer features as of ``snapshot`` (it is
    the same query, so scoring need not run it again over every line); None when the table
    is missing or of another date."""
    if not holds_snapshot(connection, "features", "customer_rfm", snapshot):
        return None
    return connection.execute("SELECT * FROM features.customer_rfm ORDER BY customer_id").df()


def stored_daily_orders(
    connection: duckdb.DuckDBPyConnection, snapshot: dt.datetime
) -> pd.DataFrame | None:
    """features.daily_orders (the store's orders per day before its as_of) when it was built
    as of ``snapshot``: the same query as :func:`pipeline.modelling.trading_clock.daily_orders`,
    and the days before an earlier date are a prefix of it (the trading clock keeps the days
    before its own date). None when the table is missing or of another date."""
    if not holds_snapshot(connection, "features", "daily_orders", snapshot):
        return None
    return read_daily_orders(connection)


def score_frame(
    model_name: str,
    model,
    version: str,
    frame: pd.DataFrame,
    windows: ModelWindows,
    *,
    explain: bool = True,
) -> pd.DataFrame:
    """The rows of ``model_name``'s score table for the customers of ``frame`` (a
    :func:`scoring_frame` as of ``windows.snapshot``), scored by ``model`` (for a caller that
    loaded the champion once and scores several dates with it); ``explain=False`` leaves
    out the reason columns of churn and propensity."""
    options = {} if model_name == PRODUCT_MODEL else {"explain": explain}
    return _SCORERS[model_name](
        model, frame, windows=windows, model_name=model_name, model_version=version, **options
    )
