"""How much the demo looks like the retailer it imitates: the figures of ``targets.yaml``.

:func:`measure` computes each figure on a generated transactions table (DuckDB SQL over the
Arrow table), :func:`compare` holds them against the targets' bounds. ``python -m
pipeline.demo --check`` prints the comparison after generating.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import duckdb
import pyarrow as pa
import yaml

from pipeline.demo.catalogue import BAD_DEBT_CODE, NON_PRODUCT_LINES

TARGETS_FILE = Path(__file__).with_name("targets.yaml")

_NOT_PRODUCTS = [code for code, _, _ in NON_PRODUCT_LINES] + [BAD_DEBT_CODE]

# Lines as the figures see them: product lines bought, cancellation lines, the last year.
_LINES_SQL = """
CREATE TEMP TABLE lines AS
SELECT *,
       InvoiceNo LIKE 'C%' AS is_cancellation,
       InvoiceNo SIMILAR TO '[0-9]+' AND Quantity > 0
           AND NOT coalesce(list_contains($not_products, StockCode), false) AS is_bought,
       Quantity * UnitPrice AS amount,
       date_trunc('month', InvoiceDate) AS month,
       InvoiceDate >= (SELECT max(InvoiceDate) FROM tx) - INTERVAL 365 DAY AS last_year
FROM tx
"""

_FIGURES_SQL = """
WITH customers AS (
    SELECT CustomerID, min(InvoiceDate) AS first_ts,
           count(DISTINCT InvoiceNo) FILTER (WHERE last_year AND NOT is_cancellation) AS orders_ly,
           bool_or(last_year) AS active_ly,
           sum(amount) FILTER (
               WHERE NOT coalesce(list_contains($not_products, StockCode), false)) AS revenue
    FROM lines WHERE CustomerID IS NOT NULL GROUP BY 1
), monthly AS (
    SELECT month,
           sum(amount) FILTER (WHERE is_bought) AS bought,
           -sum(amount) FILTER (WHERE is_cancellation AND NOT coalesce(
               list_contains($not_products, StockCode), false)) AS cancelled
    FROM lines GROUP BY 1
), month_buyers AS (
    SELECT l.month, count(DISTINCT l.CustomerID) AS buyers,
           count(DISTINCT l.CustomerID) FILTER (
               WHERE date_trunc('month', c.first_ts) = l.month) AS new_buyers
    FROM lines l JOIN customers c USING (CustomerID)
    WHERE l.is_bought GROUP BY 1
), months_ranked AS (
    SELECT *, row_number() OVER (ORDER BY month) AS month_no FROM month_buyers
)
SELECT
    (SELECT avg((CustomerID IS NULL)::INT) FROM lines) AS guest_row_share,
    (SELECT avg(is_cancellation::INT) FROM lines) AS cancellation_line_share,
    (SELECT 1 - (SELECT count(*) FROM (SELECT DISTINCT * FROM tx)) / count(*) FROM tx)
        AS duplicate_line_share,
    (SELECT median(UnitPrice) FROM lines WHERE is_bought) AS median_unit_price,
    (SELECT median(Quantity) FROM lines WHERE is_bought) AS median_quantity,
    (SELECT median(amount) FROM lines WHERE is_bought) AS median_line_amount,
    (SELECT count(*) / count(DISTINCT InvoiceNo) FROM lines WHERE is_bought)
        AS lines_per_invoice,
    (SELECT max(amount) FROM lines WHERE is_bought) AS largest_line_amount,
    (SELECT count(*) FILTER (WHERE active_ly) FROM customers)
        / (SELECT count(*) FROM lines WHERE last_year) * 100000
        AS customers_per_100k_rows_last_year,
    (SELECT avg((orders_ly = 1)::INT) FROM customers WHERE orders_ly > 0)
        AS one_order_share_last_year,
    (SELECT avg((first_ts >= (SELECT max(InvoiceDate) FROM tx) - INTERVAL 90 DAY)::INT)
     FROM customers WHERE active_ly) AS new_share_last_90_days,
    (SELECT min(new_buyers / buyers) FROM months_ranked WHERE month_no > 3)
        AS min_monthly_new_share,
    (SELECT median(cancelled / bought) FROM monthly WHERE bought > 0)
        AS median_monthly_return_ratio,
    (SELECT max(cancelled / bought) FROM monthly WHERE bought > 0) AS max_monthly_return_ratio,
    (SELECT max(revenue) / sum(revenue) FROM customers) AS top_customer_revenue_share
"""


@dataclass(frozen=True)
class Target:
    name: str
    description: str
    uci: float
    low: float
    high: float


@dataclass(frozen=True)
class Comparison:
    target: Target
    measured: float | None

    @property
    def within(self) -> bool:
        return self.measured is not None and self.target.low <= self.measured <= self.target.high

    def line(self) -> str:
        value = "-" if self.measured is None else f"{self.measured:,.4g}"
        verdict = "ok" if self.within else "OUT"
        t = self.target
        return f"{t.name:36} {value:>12} (UCI {t.uci:,.4g}; {t.low:,.4g}..{t.high:,.4g}) {verdict}"


@cache
def load_targets(path: Path = TARGETS_FILE) -> tuple[int, tuple[Target, ...]]:
    """The reference size in rows and the targets, in the file's order."""
    spec = yaml.safe_load(path.read_text())
    targets = tuple(
        Target(name, str(f["description"]), float(f["uci"]), float(f["min"]), float(f["max"]))
        for name, f in spec["figures"].items()
    )
    return int(spec["reference_rows"]), targets


def measure(transactions: pa.Table) -> dict[str, float | None]:
    """Every figure of targets.yaml on one generated transactions table (UCI columns; a
    table without StockCode, as the ``cohort`` scenario writes, counts every line a product)."""
    if "StockCode" not in transactions.column_names:
        transactions = transactions.append_column(
            "StockCode", pa.nulls(len(transactions), pa.string())
        )
    with duckdb.connect() as con:
        con.register("tx", transactions)
        con.execute(_LINES_SQL, {"not_products": _NOT_PRODUCTS})
        relation = con.execute(_FIGURES_SQL, {"not_products": _NOT_PRODUCTS})
        names = [column[0] for column in relation.description]
        row = relation.fetchone()
    return {
        name: None if value is None else float(value)
        for name, value in zip(names, row, strict=True)
    }


def compare(figures: dict[str, float | None]) -> list[Comparison]:
    """Each target with its measured figure, in the targets' order."""
    _, targets = load_targets()
    return [Comparison(target, figures.get(target.name)) for target in targets]
