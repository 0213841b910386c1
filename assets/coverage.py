"""Blocking checks that a customer-level table has a row for every customer it must cover.

features.customer_rfm must cover every customer with a purchase in staging.transactions
before its snapshot date (a pass over the lines); each table built from it (the segments)
must cover features.customer_rfm, a pass over one row per customer, which with the first
check covers the same customers. One row per customer, and labels not null and from their
vocabulary, are in each table's contract and its GX check.
"""

from dagster import AssetCheckResult, asset_check

from assets.common import table_key
from pipeline.sql_text import one_row, qualified
from resources.warehouse import DuckDBWarehouse

PURCHASERS_BEFORE_SNAPSHOT = (
    "SELECT customer_id FROM staging.transactions "
    "WHERE invoice_ts < (SELECT max(as_of) FROM features.customer_rfm)"
)
FEATURE_CUSTOMERS = "SELECT customer_id FROM features.customer_rfm"


def covers_customers_check(table: str, expected: str, description: str):
    """A blocking check ``covers_all_customers`` on ``table``: every customer_id of the
    SELECT ``expected`` (repeats allowed) has a row in it."""
    query = (
        f"SELECT count(DISTINCT e.customer_id), min(e.customer_id) FROM ({expected}) e "
        f"ANTI JOIN {qualified(table)} s USING (customer_id)"
    )

    @asset_check(
        asset=table_key(table),
        name="covers_all_customers",
        blocking=True,
        description=description,
    )
    def covers_all_customers(warehouse: DuckDBWarehouse) -> AssetCheckResult:
        with warehouse.reader() as connection:
            missing, example = one_row(connection, query)
        metadata = {"missing_customers": missing}
        if missing:
            metadata["example_missing_customer"] = str(example)
        return AssetCheckResult(passed=missing == 0, metadata=metadata)

    return covers_all_customers
