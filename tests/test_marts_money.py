"""Money in the marts and features does not depend on the order of the lines: staging
tables are appended to by the nightly cleaning, so the same lines can come in another order
than a full rebuild's, and a sum of doubles taken in another order can move a rounded cent."""

from __future__ import annotations

import duckdb

from pipeline.marts import build_monthly_revenue
from pipeline.product_categories import build_product_categories, load_rules

# Three line amounts whose sum as doubles rounds to 108.67 in this order and to 108.68 in
# the reverse one (DuckDB, one thread); their exact sum is 108.675.
AMOUNTS = [48.513, 45.461, 14.701]


def monthly_revenue(amounts: list[float]) -> list[tuple]:
    with duckdb.connect() as connection:
        connection.execute("SET threads = 1")
        connection.execute("CREATE SCHEMA staging")
        for table, sign in (("transactions", 1), ("returns", -1)):
            connection.execute(
                f"""
                CREATE TABLE staging.{table} AS
                SELECT 'A' || i AS invoice_id, 'C' || (i % 2) AS customer_id,
                       TIMESTAMP '2011-03-05 10:00' + INTERVAL (i) MINUTE AS invoice_ts,
                       {sign} * amount AS line_amount
                FROM (SELECT unnest($amounts) AS amount, generate_subscripts($amounts, 1) AS i)
                ORDER BY i
                """,
                {"amounts": amounts},
            )
        build_monthly_revenue(connection)
        return connection.execute(
            "SELECT revenue, returns_amount, net_revenue FROM marts.monthly_revenue"
        ).fetchall()


def test_the_monthly_revenue_is_the_same_in_any_line_order():
    with duckdb.connect() as connection:
        connection.execute("SET threads = 1")
        as_doubles = [
            connection.execute(
                "SELECT round(sum(v), 2) FROM (SELECT unnest($l) AS v)", {"l": order}
            ).fetchone()[0]
            for order in (AMOUNTS, AMOUNTS[::-1])
        ]
    assert as_doubles[0] != as_doubles[1]  # the trap this guards against
    assert monthly_revenue(AMOUNTS) == monthly_revenue(AMOUNTS[::-1])
    assert monthly_revenue(AMOUNTS)[0][0] == 108.68  # the exact sum, rounded half away


def product_revenue(amounts: list[float]) -> list[tuple]:
    with duckdb.connect() as connection:
        connection.execute("SET threads = 1")
        connection.execute("CREATE SCHEMA staging")
        connection.execute(
            """
            CREATE TABLE staging.transactions AS
            SELECT 'S' || (i % 2) AS stock_code, 'RED MUG' AS description, amount AS line_amount
            FROM (SELECT unnest($amounts) AS amount, generate_subscripts($amounts, 1) AS i)
            ORDER BY i
            """,
            {"amounts": [*amounts, *amounts]},
        )
        build_product_categories(connection, None, load_rules())
        return connection.execute(
            "SELECT stock_code, revenue FROM features.product_categories"
        ).fetchall()


def test_a_products_revenue_and_the_tables_order_are_the_same_in_any_line_order():
    forward, backward = product_revenue(AMOUNTS), product_revenue(AMOUNTS[::-1])
    assert forward == backward
    # both codes sell the same: the order falls back on the stock code
    assert [code for code, _ in forward] == ["S0", "S1"]
