"""features.daily_orders: the store's orders per day before the snapshot date.

Live scoring measures recency and the horizon on the store's trading clock, fitted from the
orders per day (pipeline.modelling.trading_clock). The warehouse computes them from
staging.transactions; the HTTP API never opens the warehouse, so the refresh publishes them
in the BI snapshot with the features' snapshot date.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from pipeline.modelling.trading_clock import DAILY_ORDERS_SQL

TABLE = "features.daily_orders"


def build_daily_orders(connection: duckdb.DuckDBPyConnection, as_of: dt.datetime) -> int:
    """(Re)write features.daily_orders for the days before ``as_of``; returns the days."""
    connection.execute("CREATE SCHEMA IF NOT EXISTS features")
    connection.execute(
        f"CREATE OR REPLACE TABLE {TABLE} AS "
        f"SELECT day, orders, $as_of::TIMESTAMP AS as_of FROM ({DAILY_ORDERS_SQL})",
        {"as_of": as_of},
    )
    return connection.execute(f"SELECT count(*) FROM {TABLE}").fetchall()[0][0]


def read_daily_orders(connection: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """day, orders as pipeline.modelling.trading_clock.daily_orders returns them."""
    frame = connection.execute(f"SELECT day, orders FROM {TABLE} ORDER BY day").df()
    frame["day"] = pd.to_datetime(frame["day"]).dt.date
    return frame
