"""Migration marts from the customer history: who moved between snapshots.

In schema ``marts`` (BI reads them with the other marts) but built here, beside the history
they read, so the history feature lives in two small modules (assets/history.py and this one).
"""

import datetime as dt

from dagster import AssetExecutionContext, Config, MaterializeResult, MetadataValue, multi_asset
from pydantic import Field

from assets.common import comment_and_describe, markdown_rows, table_key, table_spec
from assets.quality import contract_checks
from pipeline.history import (
    HISTORY_TABLE,
    build_customer_movements,
    build_segment_transitions,
    default_comparison,
)
from pipeline.history.snapshots import ensure_history_table
from resources.warehouse import WRITER_POOL, WRITER_RETRY, DuckDBWarehouse

TRANSITIONS = "marts.segment_transitions"
MOVEMENTS = "marts.customer_movements"


class TransitionsConfig(Config):
    from_date: str | None = Field(
        default=None,
        description="Earlier snapshot YYYY-MM-DD; default the newest at least compare_days "
        "before to_date.",
    )
    to_date: str | None = Field(
        default=None, description="Later snapshot YYYY-MM-DD; default the newest snapshot."
    )
    compare_days: int = Field(default=30, description="Default distance between the snapshots.")


def _comparison(connection, config: TransitionsConfig) -> tuple[dt.date, dt.date] | None:
    default = default_comparison(connection, config.compare_days)
    if not (config.from_date or config.to_date):
        return default
    if default is None:
        raise ValueError("the history holds fewer than two snapshots: nothing to compare")
    from_date = dt.date.fromisoformat(config.from_date) if config.from_date else default[0]
    to_date = dt.date.fromisoformat(config.to_date) if config.to_date else default[1]
    return from_date, to_date


@multi_asset(
    specs=[table_spec(TRANSITIONS, group="marts", deps=[HISTORY_TABLE])],
    pool=WRITER_POOL,
    retry_policy=WRITER_RETRY,
    name="segment_transitions",
)
def segment_transitions(
    context: AssetExecutionContext, config: TransitionsConfig, warehouse: DuckDBWarehouse
):
    """Customers and net spend per (from label, to label) of the value segment, persona, RFM
    segment and churn band between two snapshots: by default the newest against the newest
    one at least 30 days before it."""
    with warehouse.writer() as connection:
        ensure_history_table(connection)
        comparison = _comparison(connection, config)
        build_segment_transitions(connection, comparison)
        moved = connection.execute(
            "SELECT dimension, sum(customers) FILTER (WHERE from_label <> to_label), "
            "sum(customers) FROM marts.segment_transitions GROUP BY 1 ORDER BY 1"
        ).fetchall()
        metadata = comment_and_describe(connection, TRANSITIONS)
    metadata["from_date"] = comparison[0].isoformat() if comparison else "none"
    metadata["to_date"] = comparison[1].isoformat() if comparison else "none"
    metadata["moved"] = MetadataValue.md(markdown_rows(moved, ["dimension", "moved", "customers"]))
    yield MaterializeResult(asset_key=table_key(TRANSITIONS), metadata=metadata)


@multi_asset(
    specs=[table_spec(MOVEMENTS, group="marts", deps=[HISTORY_TABLE])],
    pool=WRITER_POOL,
    retry_policy=WRITER_RETRY,
    name="customer_movements",
)
def customer_movements(context: AssetExecutionContext, warehouse: DuckDBWarehouse):
    """Each customer's latest move per dimension (value segment, persona, RFM segment, churn
    band): the label before, the current one, and the first snapshot that showed it."""
    with warehouse.writer() as connection:
        ensure_history_table(connection)
        build_customer_movements(connection)
        by_dimension = connection.execute(
            "SELECT dimension, count(*) FROM marts.customer_movements GROUP BY 1 ORDER BY 1"
        ).fetchall()
        metadata = comment_and_describe(connection, MOVEMENTS)
    metadata["by_dimension"] = MetadataValue.md(
        markdown_rows(by_dimension, ["dimension", "customers who moved"])
    )
    yield MaterializeResult(asset_key=table_key(MOVEMENTS), metadata=metadata)


gx_checks = contract_checks(segment_transitions, customer_movements)
