"""Customer features as of a date, in DuckDB SQL: RFM, behaviour and the named RFM segments.

Only transactions strictly before ``as_of`` count, so the same code builds the features of
today (as_of = the day after the last transaction) and of a past cutoff for out-of-time
model training. Product columns are optional: without stock codes the product diversity
columns are null, everything else is computed.

RFM scores are quintiles 1-5 (``ntile`` over a deterministic order, ties broken by the
other measure and the customer id so the five groups are equal-sized and stable; net spend
is compared to a millionth, so float sums in another order still tie):
R = 5 for the most recent buyers, F by number of orders, M by net spend. The named
segments map (R, F) as in the widely used RFM grid, first match wins:

| segment             | R   | F   |
|---------------------|-----|-----|
| Champions           | 5   | 4-5 |
| Loyal               | 3-4 | 4-5 |
| Potential Loyalists | 4-5 | 2-3 |
| New                 | 5   | 1   |
| Promising           | 4   | 1   |
| Need Attention      | 3   | 3   |
| About to Sleep      | 3   | 1-2 |
| Cannot Lose         | 1-2 | 5   |
| At Risk             | 1-2 | 3-4 |
| Hibernating         | 1-2 | 1-2 |
"""

from __future__ import annotations

import datetime as dt

import duckdb

from pipeline.catalog.ddl import create_tables_sql
from pipeline.sql_text import one_row, temp_tables

RFM_SEGMENTS = (
    "Champions",
    "Loyal",
    "Potential Loyalists",
    "New",
    "Promising",
    "Need Attention",
    "About to Sleep",
    "Cannot Lose",
    "At Risk",
    "Hibernating",
)

RFM_SEGMENT_CASE = """
    CASE
        WHEN r_score = 5 AND f_score >= 4 THEN 'Champions'
        WHEN r_score IN (3, 4) AND f_score >= 4 THEN 'Loyal'
        WHEN r_score >= 4 AND f_score IN (2, 3) THEN 'Potential Loyalists'
        WHEN r_score = 5 AND f_score = 1 THEN 'New'
        WHEN r_score = 4 AND f_score = 1 THEN 'Promising'
        WHEN r_score = 3 AND f_score = 3 THEN 'Need Attention'
        WHEN r_score = 3 AND f_score <= 2 THEN 'About to Sleep'
        WHEN r_score <= 2 AND f_score = 5 THEN 'Cannot Lose'
        WHEN r_score <= 2 AND f_score IN (3, 4) THEN 'At Risk'
        ELSE 'Hibernating'
    END
"""

# $as_of: features use purchases and returns strictly before it.
#
# Sums of amounts and units are exact (DECIMAL, to a millionth): a DOUBLE sum's last bits
# depend on the order DuckDB's threads add the rows, and those bits moved the bins of the
# gradient-boosted models, so retraining on the same data gave other scores.
#
# The per-customer parts are separate statements into temp tables, each grouped to one row
# per customer (or per order), and only then joined. As one statement, DuckDB 2.0 splits the
# DISTINCT, median and mode aggregates into sub-aggregates joined back together and spills
# far more than the parts do at 100M lines (benchmarks/RESULTS.md); each part alone does not.
FEATURE_PARTS: tuple[tuple[str, str], ...] = (
    (
        # An order is an invoice; files without invoice numbers count one order per timestamp.
        "_features_orders",
        """
        SELECT customer_id,
               coalesce(invoice_id, strftime(invoice_ts, '%Y-%m-%d %H:%M:%S')) AS order_id,
               min(invoice_ts) AS order_ts,
               sum(line_amount::DECIMAL(38, 6)) AS order_amount
        FROM staging.transactions
        WHERE invoice_ts < $as_of
        GROUP BY ALL
        """,
    ),
    (
        "_features_per_customer",
        """
        SELECT
            customer_id,
            min(invoice_ts) AS first_purchase_ts,
            max(invoice_ts) AS last_purchase_ts,
            sum(line_amount::DECIMAL(38, 6))::DOUBLE AS gross_spend,
            count(*) AS purchase_lines,
            sum(quantity::DECIMAL(38, 6))::DOUBLE AS total_units,
            avg(quantity::DECIMAL(38, 6)) AS avg_units_per_line,
            max(quantity) AS max_units_per_line,
            coalesce(stddev_pop(quantity) / nullif(avg(quantity), 0), 0) AS units_per_line_cv,
            median(unit_price) AS median_unit_price,
            count(DISTINCT stock_code) AS distinct_products,
            count(DISTINCT c.category) AS distinct_categories
        FROM staging.transactions t
        LEFT JOIN features.product_categories c USING (stock_code)
        WHERE t.invoice_ts < $as_of
        GROUP BY customer_id
        """,
    ),
    (
        # The customer's most frequent country; on equal counts the first alphabetically
        # (mode() would take whichever value its threads met first).
        "_features_country",
        """
        SELECT customer_id, first(country ORDER BY lines DESC, country) AS country
        FROM (SELECT customer_id, country, count(*) AS lines
              FROM staging.transactions
              WHERE invoice_ts < $as_of AND country IS NOT NULL
              GROUP BY ALL)
        GROUP BY customer_id
        """,
    ),
    (
        "_features_order_stats",
        """
        WITH gaps AS (
            SELECT customer_id,
                   date_diff('second',
                             lag(order_ts) OVER (PARTITION BY customer_id ORDER BY order_ts),
                             order_ts) / 86400.0 AS gap_days
            FROM _features_orders
        )
        SELECT o.customer_id, o.frequency, o.avg_order_value,
               g.mean_days_between_purchases, g.std_days_between_purchases
        FROM (SELECT customer_id, count(*) AS frequency, avg(order_amount) AS avg_order_value
              FROM _features_orders GROUP BY customer_id) o
        LEFT JOIN (SELECT customer_id, avg(gap_days) AS mean_days_between_purchases,
                          stddev_samp(gap_days) AS std_days_between_purchases
                   FROM gaps WHERE gap_days IS NOT NULL GROUP BY customer_id) g
            USING (customer_id)
        """,
    ),
    (
        "_features_returned",
        """
        SELECT customer_id, -sum(line_amount::DECIMAL(38, 6))::DOUBLE AS returned_amount,
               count(*) AS returned_lines
        FROM staging.returns
        WHERE invoice_ts < $as_of
        GROUP BY customer_id
        """,
    ),
)

CUSTOMER_FEATURES_SQL = f"""
WITH measures AS (
    SELECT
        p.customer_id,
        date_diff('day', p.last_purchase_ts::DATE, $as_of::DATE) AS recency_days,
        o.frequency,
        p.gross_spend - coalesce(r.returned_amount, 0) AS monetary,
        date_diff('day', p.first_purchase_ts::DATE, $as_of::DATE) AS tenure_days,
        o.avg_order_value,
        p.total_units / o.frequency AS avg_basket_quantity,
        coalesce(r.returned_amount, 0) / nullif(p.gross_spend, 0) AS return_rate,
        p.gross_spend,
        coalesce(r.returned_amount, 0) AS returned_amount,
        p.purchase_lines,
        p.avg_units_per_line,
        p.max_units_per_line,
        p.units_per_line_cv,
        p.median_unit_price,
        CASE WHEN p.distinct_products > 0 THEN p.distinct_products END AS distinct_products,
        CASE WHEN p.distinct_categories > 0 THEN p.distinct_categories END AS distinct_categories,
        o.mean_days_between_purchases,
        o.std_days_between_purchases,
        k.country,
        p.first_purchase_ts,
        p.last_purchase_ts
    FROM _features_per_customer p
    JOIN _features_order_stats o USING (customer_id)
    LEFT JOIN _features_returned r USING (customer_id)
    LEFT JOIN _features_country k USING (customer_id)
), scored AS (
    -- monetary is a float sum whose last bits depend on the order the lines were added
    -- (DuckDB's threads, or other lines of the same total): ordered to a millionth, equal
    -- spends tie and the customer id decides, so scores do not move between runs.
    SELECT *,
        ntile(5) OVER (ORDER BY recency_days DESC, frequency, customer_id) AS r_score,
        ntile(5) OVER (ORDER BY frequency, round(monetary, 6), customer_id) AS f_score,
        ntile(5) OVER (ORDER BY round(monetary, 6), frequency, customer_id) AS m_score
    FROM measures
)
SELECT *,
    r_score::VARCHAR || f_score::VARCHAR || m_score::VARCHAR AS rfm_cell,
    {RFM_SEGMENT_CASE} AS rfm_segment,
    $as_of::TIMESTAMP AS as_of
FROM scored
ORDER BY customer_id
"""


def default_as_of(connection: duckdb.DuckDBPyConnection) -> dt.datetime:
    """The day after the last purchase: the snapshot date of the current features."""
    (last,) = one_row(connection, "SELECT max(invoice_ts) FROM staging.transactions")
    if last is None:
        raise ValueError("staging.transactions is empty: there is nothing to compute features of")
    return dt.datetime.combine(last.date() + dt.timedelta(days=1), dt.time())


def ensure_product_categories_table(connection: duckdb.DuckDBPyConnection) -> None:
    """The feature query joins product categories; an empty table stands in before the
    categories asset has run."""
    connection.execute(create_tables_sql("features.product_categories"))


def customer_features(connection: duckdb.DuckDBPyConnection, as_of: dt.datetime):
    """Customer features as of ``as_of`` as a pandas DataFrame (for modelling)."""
    ensure_product_categories_table(connection)
    with temp_tables(connection, FEATURE_PARTS, {"as_of": as_of}):
        return connection.execute(CUSTOMER_FEATURES_SQL, {"as_of": as_of}).df()


def build_customer_rfm(connection: duckdb.DuckDBPyConnection, as_of: dt.datetime) -> int:
    """Write features.customer_rfm as of ``as_of``; returns the number of customers."""
    ensure_product_categories_table(connection)
    with temp_tables(connection, FEATURE_PARTS, {"as_of": as_of}):
        connection.execute(
            f"CREATE OR REPLACE TABLE features.customer_rfm AS {CUSTOMER_FEATURES_SQL}",
            {"as_of": as_of},
        )
    (count,) = one_row(connection, "SELECT count(*) FROM features.customer_rfm")
    return int(count)
