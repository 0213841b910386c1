"""Cleaning rules: raw.transactions -> staging.transactions, staging.returns, staging.excluded.

Each raw row lands in exactly one of the three tables. Rules are checked in the order below
and the first that matches decides; the order follows the standard treatment of the UCI
Online Retail data (drop rows without a customer, then cancellations, then non-positive
prices), which takes its 541,909 rows to 406,829, 397,924 and 397,884. Two rules follow
that the published figures do not include: non-product stock codes and exact duplicates.

| rule               | goes to  | a row matches when                                        |
|--------------------|----------|-----------------------------------------------------------|
| missing_customer   | excluded | customer_id is empty                                      |
| future_date        | excluded | invoice_ts is later than the run time plus the tolerance  |
| cancellation       | returns  | invoice_id starts with C, or quantity (or amount) < 0     |
| non_positive_price | excluded | unit_price <= 0 (line_amount <= 0 without a unit price)   |
| non_product_code   | excluded | stock_code is a fee/postage/adjustment code (settings)    |
| duplicate_line     | excluded | an exact copy of an earlier purchase line (same invoice,  |
|                    |          | product, description, quantity, time, price, customer,    |
|                    |          | country); the first copy in file order is kept            |
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from pipeline.sql_text import one_row


@dataclass(frozen=True)
class CleaningRule:
    name: str
    destination: str  # "excluded" or "returns"
    condition: str  # SQL over one raw.transactions row
    description: str


RULES: tuple[CleaningRule, ...] = (
    CleaningRule(
        "missing_customer",
        "excluded",
        "customer_id IS NULL",
        "No customer id: the line cannot be attributed to a customer.",
    ),
    CleaningRule(
        "future_date",
        "excluded",
        "invoice_ts > $latest_valid_ts",
        "Invoice time later than the run time plus the tolerance: a clock or typing error.",
    ),
    CleaningRule(
        "cancellation",
        "returns",
        "starts_with(upper(coalesce(invoice_id, '')), 'C') OR quantity < 0 "
        "OR (quantity IS NULL AND line_amount < 0)",
        "Cancelled or returned lines (C-prefixed invoices, negative quantities).",
    ),
    CleaningRule(
        "non_positive_price",
        "excluded",
        "coalesce(unit_price, line_amount) <= 0",
        "Free or negative-price lines (samples, bad-debt adjustments).",
    ),
    CleaningRule(
        "non_product_code",
        "excluded",
        "list_contains($non_product_codes, stock_code)",
        "Postage, discounts, manual adjustments, bank and marketplace fees.",
    ),
)
DUPLICATE_RULE = CleaningRule(
    "duplicate_line",
    "excluded",
    "duplicate_rank > 1",
    "An exact copy of an earlier purchase line; the first copy in file order is kept.",
)
ALL_RULES: tuple[CleaningRule, ...] = (*RULES, DUPLICATE_RULE)

TRANSACTION_COLUMNS = (
    "invoice_id, stock_code, description, quantity, invoice_ts, unit_price, customer_id, "
    "country, line_amount, source_file, source_sheet, source_row"
)
_DUPLICATE_KEY = (
    "invoice_id, stock_code, description, quantity, invoice_ts, unit_price, customer_id, country"
)


def _classified_sql() -> str:
    cases = "\n".join(f"            WHEN {rule.condition} THEN '{rule.name}'" for rule in RULES)
    return f"""
    CREATE OR REPLACE TEMP TABLE _classified AS
    WITH first_rule AS (
        SELECT {TRANSACTION_COLUMNS},
            CASE
{cases}
            END AS rule
        FROM raw.transactions
    )
    SELECT *,
        CASE WHEN rule IS NULL THEN row_number() OVER (
            PARTITION BY {_DUPLICATE_KEY}, rule IS NULL
            ORDER BY source_file, source_sheet, source_row) END AS duplicate_rank
    FROM first_rule
    """


STAGING_TABLES_SQL = f"""
CREATE SCHEMA IF NOT EXISTS staging;
CREATE OR REPLACE TABLE staging.transactions AS
    SELECT {TRANSACTION_COLUMNS} FROM _classified
    WHERE rule IS NULL AND duplicate_rank = 1
    ORDER BY invoice_ts, source_file, source_row;
CREATE OR REPLACE TABLE staging.returns AS
    SELECT {TRANSACTION_COLUMNS} FROM _classified WHERE rule = 'cancellation'
    ORDER BY invoice_ts, source_file, source_row;
CREATE OR REPLACE TABLE staging.excluded AS
    SELECT {TRANSACTION_COLUMNS},
           CASE WHEN rule IS NULL THEN '{DUPLICATE_RULE.name}' ELSE rule END AS rule
    FROM _classified
    WHERE rule IS NOT NULL AND rule <> 'cancellation' OR duplicate_rank > 1
    ORDER BY source_file, source_row;
"""


@dataclass(frozen=True)
class CleaningCounts:
    transactions: int
    returns: int
    excluded_by_rule: dict[str, int]

    @property
    def excluded(self) -> int:
        return sum(self.excluded_by_rule.values())


def build_staging(
    connection: duckdb.DuckDBPyConnection,
    *,
    non_product_codes: tuple[str, ...],
    latest_valid_ts: dt.datetime,
) -> CleaningCounts:
    """Rebuild the three staging tables from raw.transactions in one transaction."""
    connection.execute("BEGIN TRANSACTION")
    try:
        connection.execute(
            _classified_sql(),
            {
                "non_product_codes": [code.upper() for code in non_product_codes],
                "latest_valid_ts": latest_valid_ts,
            },
        )
        connection.execute(STAGING_TABLES_SQL)
        connection.execute("DROP TABLE _classified")
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    (transactions,) = one_row(connection, "SELECT count(*) FROM staging.transactions")
    (returns,) = one_row(connection, "SELECT count(*) FROM staging.returns")
    by_rule = dict(
        connection.execute(
            "SELECT rule, count(*) FROM staging.excluded GROUP BY rule ORDER BY rule"
        ).fetchall()
    )
    return CleaningCounts(int(transactions), int(returns), {k: int(v) for k, v in by_rule.items()})
