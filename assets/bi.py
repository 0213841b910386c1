"""BI layer: publish the read-only snapshot that BI tools and the dashboard open."""

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, multi_asset

from assets.common import markdown_rows, table_key, table_spec
from pipeline.catalog import published_tables
from pipeline.publish import publish_snapshot
from pipeline.settings import Settings
from resources.warehouse import WRITER_POOL, WRITER_RETRY, DuckDBWarehouse

SNAPSHOT_ASSET = "bi.customer_intel"
PUBLISHED_TABLES = published_tables()


@multi_asset(
    specs=[table_spec(SNAPSHOT_ASSET, group="bi", deps=PUBLISHED_TABLES, kinds=("duckdb", "file"))],
    pool=WRITER_POOL,
    retry_policy=WRITER_RETRY,
    name="publish_bi_snapshot",
)
def publish_bi_snapshot(context: AssetExecutionContext, warehouse: DuckDBWarehouse):
    """Copy the features, segments, scores and marts into DATA_DIR/bi/customer_intel.duckdb,
    built beside it and renamed over it, so BI readers never see half a refresh and never
    hold the warehouse's lock. Tables unchanged since the last snapshot (the history between
    two snapshots) are kept from it."""
    snapshot_path = Settings.from_env().bi_snapshot_path
    with warehouse.writer() as connection:
        published = publish_snapshot(connection, snapshot_path, run_id=context.run.run_id)
    yield MaterializeResult(
        asset_key=table_key(SNAPSHOT_ASSET),
        metadata={
            "path": MetadataValue.path(str(published.path)),
            "size_mb": round(published.size_bytes / 1e6, 2),
            "published_at": published.published_at.isoformat(),
            "tables": MetadataValue.md(
                markdown_rows(sorted(published.tables.items()), ["table", "rows"])
            ),
            "dagster/row_count": sum(published.tables.values()),
            # Tables equal to the previous snapshot's are kept from it, not copied again.
            "unchanged_tables": MetadataValue.md(
                ", ".join(published.reused) if published.reused else "none"
            ),
        },
    )
