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
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from pipeline.cleaning_parts import cleaning_parts, rows_per_part
from pipeline.cleaning_state import RuleSettings, record_state
from pipeline.sql_files import SqlFiles
from pipeline.sql_text import one_row, parameters_named, transaction

SQL = SqlFiles(__package__)


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
        # Both cases instead of upper(), which copies every id (benchmarks/RESULTS.md); no
        # other character's upper case is 'C'.
        "starts_with(invoice_id, 'C') OR starts_with(invoice_id, 'c') OR quantity < 0 "
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
    "is_later_copy",
    "An exact copy of an earlier purchase line; the first copy in file order is kept.",
)
ALL_RULES: tuple[CleaningRule, ...] = (*RULES, DUPLICATE_RULE)

TRANSACTION_COLUMNS = (
    "invoice_id, stock_code, description, quantity, invoice_ts, unit_price, customer_id, "
    "country, line_amount, source_file, source_sheet, source_row"
)
DUPLICATE_KEY = (
    "invoice_id, stock_code, description, quantity, invoice_ts, unit_price, customer_id, country"
)


_CASES = "\n".join(f"            WHEN {rule.condition} THEN '{rule.name}'" for rule in RULES)
# The first rule a row matches (NULL: a purchase line), over the transaction columns.
RULE_CASE = f"""CASE
{_CASES}
            END"""


def _first_rule_sql(rows: str = "") -> str:
    """Each raw row with the first rule it matches, and its rowid (``rows``: a condition
    on raw.transactions that limits them to a part, see :mod:`pipeline.cleaning_parts`)."""
    where = f"\n        WHERE {rows}" if rows else ""
    return f"""
        SELECT rowid AS raw_rowid, {TRANSACTION_COLUMNS},
            {RULE_CASE} AS rule
        FROM raw.transactions{where}"""


# The rowids of purchase lines that copy an earlier line (file order). Copies share the
# hash of their key, so only lines whose key hash occurs more than once go through the
# window (about 2% of the lines; a hash collision only adds a line to it, the window
# compares the key itself): the window sorts those instead of every raw row.
def later_copies_select(rows: str = "") -> str:
    return f"""
WITH first_rule AS ({_first_rule_sql(rows)}
), repeated_keys AS (
    SELECT hash({DUPLICATE_KEY}) AS key_hash FROM first_rule WHERE rule IS NULL
    GROUP BY ALL HAVING count(*) > 1
)
SELECT raw_rowid FROM (
    SELECT raw_rowid,
        row_number() OVER (PARTITION BY {DUPLICATE_KEY}
                           ORDER BY source_file, source_sheet, source_row) AS copy_number
    FROM first_rule
    WHERE rule IS NULL AND hash({DUPLICATE_KEY}) IN (SELECT key_hash FROM repeated_keys)
)
WHERE copy_number > 1
"""


LATER_COPIES_SELECT = later_copies_select()


def _classified_cte(rows: str = "") -> str:
    """Every raw row (of a part) with its rule and whether it is a later copy; computed in
    each statement below rather than stored (a scan of raw is cheaper than writing all of it
    to a temp table)."""
    return f"""
    WITH _classified AS (
        SELECT f.* EXCLUDE (raw_rowid),
               f.rule IS NULL AND l.raw_rowid IS NOT NULL AS is_later_copy
        FROM ({_first_rule_sql(rows)}) f
        LEFT JOIN _later_copies l USING (raw_rowid)
    )"""


def staging_select(table: str, rows: str = "") -> str:
    """The SELECT that fills ``table`` (a staging table) from the raw rows of a part."""
    if table == "staging.transactions":
        return f"""{_classified_cte(rows)}
    SELECT {TRANSACTION_COLUMNS} FROM _classified
    WHERE rule IS NULL AND NOT is_later_copy
    ORDER BY invoice_ts, source_file, source_row"""
    if table == "staging.returns":
        return f"""{_classified_cte(rows)}
    SELECT {TRANSACTION_COLUMNS} FROM _classified WHERE rule = 'cancellation'
    ORDER BY invoice_ts, source_file, source_row"""
    if table == "staging.excluded":
        return f"""{_classified_cte(rows)}
    SELECT {TRANSACTION_COLUMNS},
           CASE WHEN rule IS NULL THEN '{DUPLICATE_RULE.name}' ELSE rule END AS rule
    FROM _classified
    WHERE rule IS NOT NULL AND rule <> 'cancellation' OR is_later_copy
    ORDER BY source_file, source_row"""
    raise ValueError(f"no staging table {table!r}")


# The SELECT that fills each staging table from all of raw (the Spark engine runs these).
STAGING_SELECTS: dict[str, str] = {
    table: staging_select(table)
    for table in ("staging.transactions", "staging.returns", "staging.excluded")
}


@dataclass(frozen=True)
class CleaningCounts:
    transactions: int
    returns: int
    excluded_by_rule: dict[str, int]

    @property
    def excluded(self) -> int:
        return sum(self.excluded_by_rule.values())


def rule_parameters(
    non_product_codes: tuple[str, ...], latest_valid_ts: dt.datetime
) -> dict[str, object]:
    """The ``$parameters`` of the rules."""
    return {
        "non_product_codes": [code.upper() for code in non_product_codes],
        "latest_valid_ts": latest_valid_ts,
    }


def build_staging(
    connection: duckdb.DuckDBPyConnection,
    *,
    non_product_codes: tuple[str, ...],
    latest_valid_ts: dt.datetime,
    future_tolerance_days: int = 0,
) -> CleaningCounts:
    """Rebuild the three staging tables from raw.transactions in one transaction, and
    record what they were built from (:mod:`pipeline.cleaning_state`) in it.
    ``latest_valid_ts`` is the run time plus ``future_tolerance_days``."""
    settings = RuleSettings(
        non_product_codes,
        latest_valid_ts - dt.timedelta(days=future_tolerance_days),
        future_tolerance_days,
    )
    with transaction(connection):
        rebuild_staging(connection, settings)
        record_state(connection, settings)
    return cleaning_counts(connection)


def rebuild_staging(
    connection: duckdb.DuckDBPyConnection, settings: RuleSettings, part_rows: int | None = None
) -> None:
    """The three staging tables from all of raw.transactions (inside a transaction), part by
    part (:mod:`pipeline.cleaning_parts`; ``part_rows``: at most about that many raw rows per
    part, default from DuckDB's memory limit)."""
    parameters = rule_parameters(settings.non_product_codes, settings.latest_valid_ts)
    parts = cleaning_parts(connection, part_rows or rows_per_part(connection))
    _fill(
        connection,
        "_later_copies",
        [later_copies_select(rows) for rows in parts.by_time],
        parameters,
        temp=True,
    )
    connection.execute("CREATE SCHEMA IF NOT EXISTS staging")
    for table in STAGING_SELECTS:
        by = parts.by_file if table == "staging.excluded" else parts.by_time
        _fill(connection, table, [staging_select(table, rows) for rows in by], parameters)
    connection.execute("DROP TABLE _later_copies")


def _fill(
    connection: duckdb.DuckDBPyConnection,
    table: str,
    selects: Sequence[str],
    parameters: dict,
    *,
    temp: bool = False,
) -> None:
    """``table`` created from the first SELECT, each later one appended after it: the rows
    keep the parts' order."""
    create = f"CREATE OR REPLACE {'TEMP ' if temp else ''}TABLE {table} AS"
    for number, select in enumerate(selects):
        statement = f"{create} {select}" if number == 0 else f"INSERT INTO {table} {select}"
        connection.execute(statement, parameters_named(statement, parameters))


def cleaning_counts(connection: duckdb.DuckDBPyConnection) -> CleaningCounts:
    """Rows of the three staging tables, the excluded ones by rule."""
    (transactions,) = one_row(connection, "SELECT count(*) FROM staging.transactions")
    (returns,) = one_row(connection, "SELECT count(*) FROM staging.returns")
    by_rule = dict(
        connection.execute(
            "SELECT rule, count(*) FROM staging.excluded GROUP BY rule ORDER BY rule"
        ).fetchall()
    )
    return CleaningCounts(int(transactions), int(returns), {k: int(v) for k, v in by_rule.items()})


@dataclass(frozen=True)
class RowAccounting:
    """Rows read from the loaded files, and the tables they went to."""

    read: int
    raw: int
    quarantined: int
    purchases: int
    returns: int
    excluded: int

    @property
    def balanced(self) -> bool:
        """No row lost: read = raw + quarantined, raw = purchases + returns + excluded."""
        return (
            self.read == self.raw + self.quarantined
            and self.raw == self.purchases + self.returns + self.excluded
        )


def row_accounting(connection: duckdb.DuckDBPyConnection) -> RowAccounting:
    return RowAccounting(*(int(v) for v in one_row(connection, SQL.read("row_accounting.sql"))))
