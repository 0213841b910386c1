"""What each published table and column means: one source for the Dagster column schemas
shown in the UI and the DuckDB COMMENT ON text a BI tool shows."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str


@dataclass(frozen=True)
class TableDoc:
    name: str  # schema.table, the public contract
    description: str
    columns: tuple[Column, ...]

    @property
    def asset_key_path(self) -> list[str]:
        return self.name.split(".")


_TRANSACTION_COLUMNS = (
    Column("invoice_id", "VARCHAR", "Invoice number; C-prefixed numbers are cancellations."),
    Column("stock_code", "VARCHAR", "Product code, upper case."),
    Column("description", "VARCHAR", "Product description as written in the source file."),
    Column("quantity", "DOUBLE", "Units on the line; negative on returns."),
    Column("invoice_ts", "TIMESTAMP", "Invoice date and time."),
    Column("unit_price", "DOUBLE", "Price per unit in the file's currency."),
    Column("customer_id", "VARCHAR", "Customer identifier (text; '17850.0' becomes '17850')."),
    Column("country", "VARCHAR", "Customer country."),
    Column("line_amount", "DOUBLE", "Line value: the file's amount, or quantity x unit_price."),
)
_LINEAGE_COLUMNS = (
    Column("source_file", "VARCHAR", "File the row came from, relative to DATA_DIR/landing."),
    Column("source_sheet", "VARCHAR", "Excel sheet the row came from (empty for CSV/Parquet)."),
    Column(
        "source_row",
        "BIGINT",
        "Row in the source: CSV line number (header = 1), spreadsheet row, Parquet row index.",
    ),
)

TABLES: dict[str, TableDoc] = {
    doc.name: doc
    for doc in (
        TableDoc(
            "raw.transactions",
            "Every typed row from the landing files, as loaded (append-only per file version).",
            (
                *_TRANSACTION_COLUMNS,
                *_LINEAGE_COLUMNS,
                Column("ingested_at", "TIMESTAMP", "When the file was loaded (UTC)."),
            ),
        ),
        TableDoc(
            "raw.quarantine",
            "Rows that could not be typed, with the file, row, column and reason.",
            (
                Column("source_file", "VARCHAR", "File the row came from."),
                Column("source_sheet", "VARCHAR", "Excel sheet the row came from."),
                Column("source_row", "BIGINT", "Row in the source file (see raw.transactions)."),
                Column("column_name", "VARCHAR", "First canonical column that failed."),
                Column("reason", "VARCHAR", "Every problem found in the row."),
                Column("raw_record", "VARCHAR", "The row's original values, as JSON."),
                Column("quarantined_at", "TIMESTAMP", "When the row was quarantined (UTC)."),
            ),
        ),
        TableDoc(
            "raw.file_ledger",
            "One row per file version seen in landing/: what was loaded, quarantined or rejected.",
            (
                Column("file_path", "VARCHAR", "File path relative to DATA_DIR/landing."),
                Column("content_hash", "VARCHAR", "SHA-256 of the file's bytes."),
                Column("size_bytes", "BIGINT", "File size."),
                Column("layout", "VARCHAR", "Column layout used (auto or a user mapping)."),
                Column("status", "VARCHAR", "loaded, rejected, or superseded by a newer version."),
                Column("rows_read", "BIGINT", "Data rows read from the file."),
                Column("rows_loaded", "BIGINT", "Rows written to raw.transactions."),
                Column("rows_quarantined", "BIGINT", "Rows written to raw.quarantine."),
                Column("error", "VARCHAR", "Why a rejected file could not be loaded."),
                Column("ingested_at", "TIMESTAMP", "When the file was processed (UTC)."),
            ),
        ),
        TableDoc(
            "staging.transactions",
            "Valid purchase lines of identified customers: the input of every customer metric.",
            (*_TRANSACTION_COLUMNS, *_LINEAGE_COLUMNS),
        ),
        TableDoc(
            "staging.returns",
            "Cancelled and returned lines of identified customers (negative quantities).",
            (*_TRANSACTION_COLUMNS, *_LINEAGE_COLUMNS),
        ),
        TableDoc(
            "staging.excluded",
            "Rows removed by a cleaning rule, with the rule's name.",
            (
                *_TRANSACTION_COLUMNS,
                *_LINEAGE_COLUMNS,
                Column("rule", "VARCHAR", "The cleaning rule that removed the row."),
            ),
        ),
        TableDoc(
            "features.product_categories",
            "One row per product (stock code) with its category, from the user's mapping or "
            "the keyword rules.",
            (
                Column("stock_code", "VARCHAR", "Product code."),
                Column("description", "VARCHAR", "Most frequent description of the product."),
                Column("category", "VARCHAR", "Product category (OTHER when no rule matched)."),
                Column("category_source", "VARCHAR", "user mapping, keyword or no rule matched."),
                Column("lines", "BIGINT", "Purchase lines of the product."),
                Column("revenue", "DOUBLE", "Revenue of the product."),
            ),
        ),
        TableDoc(
            "features.customer_rfm",
            "One row per customer: RFM and behaviour features as of the snapshot date, with "
            "RFM quintile scores and the named RFM segment.",
            (
                Column("customer_id", "VARCHAR", "Customer identifier."),
                Column("recency_days", "BIGINT", "Days from the last purchase to the snapshot."),
                Column("frequency", "BIGINT", "Number of distinct orders (invoices)."),
                Column("monetary", "DOUBLE", "Net spend: purchases minus returns."),
                Column("tenure_days", "BIGINT", "Days from the first purchase to the snapshot."),
                Column("avg_order_value", "DOUBLE", "Average order value."),
                Column("avg_basket_quantity", "DOUBLE", "Average units per order."),
                Column("return_rate", "DOUBLE", "Returned amount / purchased amount."),
                Column("gross_spend", "DOUBLE", "Purchases before returns."),
                Column("returned_amount", "DOUBLE", "Value of returns (positive)."),
                Column("purchase_lines", "BIGINT", "Number of purchase lines."),
                Column("avg_units_per_line", "DOUBLE", "Average quantity per line."),
                Column("max_units_per_line", "DOUBLE", "Largest quantity on one line."),
                Column("units_per_line_cv", "DOUBLE", "Coefficient of variation of line quantity."),
                Column("median_unit_price", "DOUBLE", "Median unit price paid."),
                Column(
                    "distinct_products",
                    "BIGINT",
                    "Distinct products bought (null without products).",
                ),
                Column("distinct_categories", "BIGINT", "Distinct categories bought."),
                Column("mean_days_between_purchases", "DOUBLE", "Mean gap between orders, days."),
                Column("std_days_between_purchases", "DOUBLE", "Spread of the gaps, days."),
                Column("country", "VARCHAR", "Most frequent country of the customer's lines."),
                Column("first_purchase_ts", "TIMESTAMP", "First purchase."),
                Column("last_purchase_ts", "TIMESTAMP", "Last purchase before the snapshot."),
                Column("r_score", "BIGINT", "Recency quintile, 5 = most recent."),
                Column("f_score", "BIGINT", "Frequency quintile, 5 = most orders."),
                Column("m_score", "BIGINT", "Monetary quintile, 5 = highest spend."),
                Column("rfm_cell", "VARCHAR", "R, F and M scores as one code, e.g. 545."),
                Column("rfm_segment", "VARCHAR", "Named RFM segment (Champions ... Hibernating)."),
                Column("as_of", "TIMESTAMP", "Snapshot date: features use data before it."),
            ),
        ),
        TableDoc(
            "bi.customer_intel",
            "The published snapshot DATA_DIR/bi/customer_intel.duckdb that BI tools and the "
            "dashboard read: the features, segments, scores and marts tables of one refresh, "
            "replaced atomically. Its table snapshot_info lists what it holds.",
            (
                Column("published_at", "TIMESTAMP", "When the snapshot was published (UTC)."),
                Column("run_id", "VARCHAR", "Dagster run that published it."),
                Column("table_name", "VARCHAR", "A table in the snapshot."),
                Column("row_count", "BIGINT", "Rows of that table."),
            ),
        ),
        TableDoc(
            "marts.monthly_revenue",
            "Revenue, orders, customers and newcomers per calendar month, for seasonality.",
            (
                Column("month", "DATE", "First day of the month."),
                Column("year", "BIGINT", "Calendar year."),
                Column("month_of_year", "BIGINT", "1 = January ... 12 = December."),
                Column("revenue", "DOUBLE", "Purchase revenue in the month."),
                Column("returns_amount", "DOUBLE", "Value of returns in the month."),
                Column("net_revenue", "DOUBLE", "Revenue minus returns."),
                Column("orders", "BIGINT", "Distinct orders."),
                Column("customers", "BIGINT", "Distinct buying customers."),
                Column("new_customers", "BIGINT", "Customers whose first purchase is this month."),
                Column("avg_order_value", "DOUBLE", "Revenue / orders."),
                Column("revenue_yoy_growth", "DOUBLE", "Revenue vs the same month a year before."),
                Column("seasonality_index", "DOUBLE", "Revenue / average monthly revenue."),
            ),
        ),
    )
}
