"""Scores layer: every customer scored with the champion models, one asset per table.

Each score table is built on every refresh, and can be materialized alone, with
``models:/NAME@champion`` (trained by assets/models.py; no refit here). The logic lives in
:mod:`pipeline.modelling.champion_scoring`."""

from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    AssetSpec,
    MaterializeResult,
    asset_check,
    multi_asset,
)

from assets.common import comment_and_describe, table_key, table_spec
from assets.model_config import ScoringConfig, model_windows
from assets.models import MODEL_KINDS, model_key
from assets.quality import contract_checks
from pipeline.catalog.writer import replace_table
from pipeline.modelling.champion_scoring import SCORE_TABLES, score_with_champion
from pipeline.modelling.model_runs import CHURN_MODEL, PRODUCT_MODEL, PROPENSITY_MODEL
from pipeline.settings import Settings
from pipeline.sql_text import one_row, qualified
from resources.mlflow_tracking import ModelTracking
from resources.warehouse import WRITER_POOL, WRITER_RETRY, DuckDBWarehouse

CHURN, PROPENSITY = SCORE_TABLES[CHURN_MODEL], SCORE_TABLES[PROPENSITY_MODEL]


def _score_spec(model_name: str, inputs: tuple[str, ...]) -> AssetSpec:
    spec = table_spec(SCORE_TABLES[model_name], group="models", deps=inputs, kinds=MODEL_KINDS)
    return spec.replace_attributes(deps=[model_key(model_name), *spec.deps])


def _scoring_asset(model_name: str, inputs: tuple[str, ...]):
    """The asset that scores every customer as of the snapshot with ``model_name``'s
    champion and writes its score table; it can be materialized alone."""
    table = SCORE_TABLES[model_name]

    @multi_asset(
        specs=[_score_spec(model_name, inputs)],
        pool=WRITER_POOL,
        retry_policy=WRITER_RETRY,
        name=f"score_{table.split('.')[1]}",
    )
    def score(
        context: AssetExecutionContext,
        config: ScoringConfig,
        warehouse: DuckDBWarehouse,
        mlflow: ModelTracking,
    ):
        client = mlflow.client()
        with warehouse.writer() as connection:
            windows = model_windows(connection, Settings.from_env(), config)
            scored = score_with_champion(connection, windows, client, model_name)
            replace_table(connection, table, scored.scores)
            metadata = comment_and_describe(connection, table)
        metadata["model"] = (
            f"{model_name} v{scored.model_version} (champion)"
            if scored.model_version
            else f"{model_name}: no champion"
        )
        metadata["as_of"] = windows.snapshot.isoformat()
        metadata["horizon_days"] = windows.horizon_days
        if scored.note:
            metadata["note"] = scored.note
            context.log.info(scored.note)
        yield MaterializeResult(asset_key=table_key(table), metadata=metadata)

    return score


# features.daily_orders: the trading clock's orders per day, read rather than recounted.
SCORING_INPUTS = (
    "features.customer_rfm",
    "features.daily_orders",
    "staging.transactions",
    "staging.returns",
)
churn_scores = _scoring_asset(CHURN_MODEL, SCORING_INPUTS)
propensity_scores = _scoring_asset(PROPENSITY_MODEL, SCORING_INPUTS)
product_propensity_scores = _scoring_asset(
    PRODUCT_MODEL, (*SCORING_INPUTS, "features.product_categories")
)


def _customers_in_features(connection) -> int:
    (count,) = one_row(connection, "SELECT count(*) FROM features.customer_rfm")
    return int(count)


def _customer_scores_check(table: str, name: str):
    """A blocking check that ``table`` has one row per customer of features.customer_rfm
    (nulls and ranges are in the table's contract and its GX check)."""

    @asset_check(
        asset=table_key(table),
        name=name,
        blocking=True,
        description="One row per customer of features.customer_rfm.",
    )
    def check(warehouse: DuckDBWarehouse) -> AssetCheckResult:
        with warehouse.reader() as connection:
            rows, customers = one_row(
                connection,
                f"SELECT count(*), count(DISTINCT customer_id) FROM {qualified(table)}",
            )
            expected = _customers_in_features(connection)
        return AssetCheckResult(
            passed=bool(rows == customers == expected),
            metadata={
                "rows": rows,
                "distinct_customers": customers,
                "customers_in_features": expected,
            },
        )

    return check


churn_scores_valid = _customer_scores_check(CHURN, "churn_scores_valid")
propensity_scores_valid = _customer_scores_check(PROPENSITY, "propensity_scores_valid")

gx_checks = contract_checks(churn_scores, propensity_scores, product_propensity_scores)
