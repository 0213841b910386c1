"""What the model windows need besides the customer features, for every window in one pass
over the lines: the outcomes in each window, the categories bought in it, and the category
counts before each window start (the customer features before each start are
:func:`pipeline.features.customer_features_at`).

Each function takes all the window starts at once, so more windows add rows to the result,
not scans of staging.transactions. The counts before a start use the segments of
:func:`pipeline.features.cutoff_segments`; the windows' outcomes join the lines of the
windows' whole span once to the (overlapping) windows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from pipeline.features import cutoff_segments
from pipeline.product_categories import OTHER
from pipeline.sql_files import SqlFiles
from pipeline.sql_text import temp_tables

SQL = SqlFiles(__package__)
WINDOW_PARTS = SQL.parts("window_parts")
WINDOW_OUTCOMES_SQL = SQL.read("window_outcomes.sql")
WINDOW_CATEGORIES_BOUGHT_SQL = SQL.read("window_categories_bought.sql")
CATEGORY_LINES_BEFORE_SQL = SQL.read("category_lines_before.sql")
STORE_CATEGORY_LINES_BEFORE_SQL = SQL.read("store_category_lines_before.sql")


@contextmanager
def _model_windows(
    connection: duckdb.DuckDBPyConnection, starts: Sequence[dt.datetime], horizon_days: int
) -> Iterator[None]:
    parameters = {"window_starts": list(starts), "horizon_days": horizon_days}
    with temp_tables(connection, WINDOW_PARTS, parameters):
        yield


def _customer_ids_as_objects(frame: pd.DataFrame) -> pd.DataFrame:
    frame["customer_id"] = frame["customer_id"].astype(object)
    return frame


def window_outcomes(
    connection: duckdb.DuckDBPyConnection, starts: Sequence[dt.datetime], horizon_days: int
) -> pd.DataFrame:
    """window_start, customer_id, actual_orders, actual_spend: every customer who bought or
    returned something in [start, start + horizon_days) for each start."""
    with _model_windows(connection, starts, horizon_days):
        return _customer_ids_as_objects(connection.execute(WINDOW_OUTCOMES_SQL).df())


def window_categories_bought(
    connection: duckdb.DuckDBPyConnection,
    starts: Sequence[dt.datetime],
    horizon_days: int,
    categories: Sequence[str],
) -> pd.DataFrame:
    """window_start, customer_id, category: the categories of ``categories`` each customer
    bought in [start, start + horizon_days) for each start."""
    with _model_windows(connection, starts, horizon_days):
        frame = connection.execute(
            WINDOW_CATEGORIES_BOUGHT_SQL, {"categories": list(categories)}
        ).df()
    return _customer_ids_as_objects(frame)


def category_lines_before(
    connection: duckdb.DuckDBPyConnection,
    starts: Sequence[dt.datetime],
    categories: Sequence[str],
) -> pd.DataFrame:
    """window_start, customer_id, category, lines: each customer's purchase lines in each
    category of ``categories`` before each start (no row where there are none)."""
    with cutoff_segments(connection, starts):
        frame = connection.execute(CATEGORY_LINES_BEFORE_SQL, {"categories": list(categories)}).df()
    return _customer_ids_as_objects(frame)


def store_category_lines_before(
    connection: duckdb.DuckDBPyConnection, cutoffs: Sequence[dt.datetime]
) -> pd.DataFrame:
    """as_of, category, lines: the store's purchase lines per category (OTHER and
    uncategorised left out) from the first of ``cutoffs`` to each (no row where there are
    none): the lines between two cutoffs are the difference."""
    with cutoff_segments(connection, cutoffs):
        return connection.execute(STORE_CATEGORY_LINES_BEFORE_SQL, {"other": OTHER}).df()


def _store_lines(store_wide: pd.DataFrame, since: dt.datetime, until: dt.datetime) -> pd.Series:
    """The store's lines per category in [since, until), categories with lines only
    (``store_wide``: lines before each cutoff, one row per cutoff, one column per category)."""
    if pd.Timestamp(until) not in store_wide.index:
        return pd.Series(dtype=np.int64)
    counts = store_wide.loc[pd.Timestamp(until)]
    if pd.Timestamp(since) in store_wide.index:
        counts = counts - store_wide.loc[pd.Timestamp(since)]
    return counts.loc[counts > 0]


def _season_boundaries(start: dt.datetime, horizon_days: int) -> tuple[dt.datetime, ...]:
    """A year before ``start``, a horizon after that, and ``start``: the store's category
    counts before these give the seasonal index."""
    year_ago = start - dt.timedelta(days=365)
    return year_ago, year_ago + dt.timedelta(horizon_days), start


@dataclass(frozen=True)
class CategoryCounts:
    """The category counts of every window, each read in one pass over the lines."""

    lines_before: pd.DataFrame  # category_lines_before
    store_wide: pd.DataFrame  # store_category_lines_before: one row per cutoff

    @classmethod
    def read(
        cls,
        connection: duckdb.DuckDBPyConnection,
        starts: Sequence[dt.datetime],
        horizon_days: int,
        categories: tuple[str, ...],
    ) -> CategoryCounts:
        boundaries = {b for start in starts for b in _season_boundaries(start, horizon_days)}
        store = store_category_lines_before(connection, sorted(boundaries))
        store_wide = store.set_index(["as_of", "category"])["lines"].unstack(fill_value=0)
        return cls(category_lines_before(connection, starts, categories), store_wide)

    def shares(
        self, keys: pd.MultiIndex, purchase_lines: pd.Series, categories: tuple[str, ...]
    ) -> np.ndarray:
        """Share of each row's customer's purchase lines in each category before the row's
        window start (``keys``: (window start, customer_id) per row; one column per
        category)."""
        lines = self.lines_before.set_index(["window_start", "customer_id", "category"])
        lines = lines["lines"].unstack("category", fill_value=0)
        lines = lines.reindex(index=keys, columns=list(categories), fill_value=0)
        return lines.to_numpy(np.float64) / np.maximum(purchase_lines.to_numpy(), 1)[:, None]

    def season_index(
        self,
        start: dt.datetime,
        horizon_days: int,
        categories: tuple[str, ...],
        first_day: dt.datetime,
    ) -> np.ndarray:
        """Each category's seasonal index for the window starting at ``start``: log(its
        share of the store's lines in the same window a year earlier / its share in the year
        before the window); 0 without a year of history."""
        year_ago, year_ago_end, _ = _season_boundaries(start, horizon_days)
        season = np.zeros(len(categories))
        if year_ago < first_day:
            return season
        window = _store_lines(self.store_wide, year_ago, year_ago_end)
        year = _store_lines(self.store_wide, year_ago, start)
        window_share = window / max(window.sum(), 1)
        year_share = year / max(year.sum(), 1)
        for i, category in enumerate(categories):
            w, y = window_share.get(category, 0.0), year_share.get(category, 0.0)
            season[i] = np.log((w + 1e-3) / (y + 1e-3)) if y > 0 else 0.0
        return season
