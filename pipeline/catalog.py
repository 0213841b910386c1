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
    )
}
