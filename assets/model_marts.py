"""Marts from the model scores: the product categories to recommend to each customer."""

from dagster import (
    AssetCheckResult,
    Config,
    MaterializeResult,
    MetadataValue,
    asset_check,
    multi_asset,
)
from pydantic import Field

from assets.common import comment_and_describe, markdown_rows, table_key, table_spec
from assets.quality import contract_checks
from pipeline.modelling.product_propensity import DEFAULT_THRESHOLD, build_recommendations
from pipeline.sql_text import one_row
from resources.warehouse import WRITER_POOL, WRITER_RETRY, DuckDBWarehouse

RECOMMENDATIONS = "marts.product_recommendations"


class RecommendationConfig(Config):
    threshold: float = Field(
        default=DEFAULT_THRESHOLD,
        ge=0.0,
        le=1.0,
        description="Recommend a category when P(buying it in the horizon) reaches this.",
    )


@multi_asset(
    specs=[table_spec(RECOMMENDATIONS, group="marts", deps=["scores.product_propensity"])],
    pool=WRITER_POOL,
    retry_policy=WRITER_RETRY,
    name="product_recommendations",
)
def product_recommendations(config: RecommendationConfig, warehouse: DuckDBWarehouse):
    """The categories each customer is likely to buy next: every category whose probability
    in scores.product_propensity reaches the threshold (default 0.7), ranked per customer.
    Empty (with a note) when the data has no products."""
    with warehouse.writer() as connection:
        build_recommendations(connection, config.threshold)
        by_category = connection.execute(
            "SELECT category, count(*), round(avg(probability), 3) "
            "FROM marts.product_recommendations GROUP BY 1 ORDER BY 2 DESC"
        ).fetchall()
        (scored,) = one_row(connection, "SELECT count(*) FROM scores.product_propensity")
        metadata = comment_and_describe(connection, RECOMMENDATIONS)
    metadata["threshold"] = config.threshold
    metadata["by_category"] = MetadataValue.md(
        markdown_rows(by_category, ["category", "recommendations", "mean probability"])
        if by_category
        else "_(none)_"
    )
    if not scored:
        metadata["note"] = (
            "scores.product_propensity is empty (no product data): nothing to recommend"
        )
    yield MaterializeResult(asset_key=table_key(RECOMMENDATIONS), metadata=metadata)


@asset_check(asset=table_key(RECOMMENDATIONS), name="recommendations_above_threshold")
def recommendations_above_threshold(warehouse: DuckDBWarehouse) -> AssetCheckResult:
    """Every recommendation reaches its threshold and ranks per customer run 1, 2, ...
    (one row per customer and category is in the table's contract and its GX check)."""
    with warehouse.reader() as connection:
        rows, below, bad_ranks = one_row(
            connection,
            """
            SELECT count(*),
                   count(*) FILTER (WHERE probability < threshold),
                   (SELECT count(*) FROM (
                        SELECT customer_id FROM marts.product_recommendations
                        GROUP BY customer_id
                        HAVING max(recommendation_rank) <> count(*)
                            OR min(recommendation_rank) <> 1))
            FROM marts.product_recommendations
            """,
        )
    return AssetCheckResult(
        passed=bool(below == 0 and bad_ranks == 0),
        metadata={
            "rows": rows,
            "below_threshold": below,
            "customers_with_bad_ranks": bad_ranks,
        },
    )


gx_checks = contract_checks(product_recommendations)
