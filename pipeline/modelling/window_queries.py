"""What the model windows need besides the customer features, for every window in one pass
over the lines: the outcomes in each window, the categories bought in it, and the category
counts before each window start (the customer features before each start are
:func:`pipeline.features.customer_features_at`).

Each function takes all the window starts at once, so more windows add rows to the result,
not scans of staging.transactions. The counts before a start use the segments of
:func:`pipeline.features.cutoff_segments`; the windows' outcomes join the lines of the
windows' whole span once to the (overlapping) windows.

The per-category results come pivoted by DuckDB, one row per window and customer and one
column per category (``category_<n>``, from :func:`category_select`), and
:class:`WindowRows` places them on the rows of the model frames by one key lookup: a
long (window, customer, category) result reshaped by pandas cost more than the queries.
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
# The generated items of the per-category queries ({n}: the category's number, from 1).
BOUGHT_AT_TIME = "bool_or(c.category = $category_{n}) AS category_{n}"
BOUGHT_IN_WINDOW = "bool_or(b.category_{n}) AS category_{n}"
LINES_IN_SEGMENT = "count(*) FILTER (WHERE c.category = $category_{n}) AS category_{n}"
RUNNING_LINES = "sum(category_{n}) OVER by_segment AS category_{n}"
LINES_SELECTED = "r.category_{n}::BIGINT AS category_{n}"


@contextmanager
def _model_windows(
    connection: duckdb.DuckDBPyConnection, starts: Sequence[dt.datetime], horizon_days: int
) -> Iterator[None]:
    parameters = {"window_starts": list(starts), "horizon_days": horizon_days}
    with temp_tables(connection, WINDOW_PARTS, parameters):
        yield


Columns = dict[str, np.ndarray]  # a query's result as NumPy arrays, by column name


def _fetch_columns(
    connection: duckdb.DuckDBPyConnection, sql: str, parameters: dict | None = None
) -> Columns:
    """The result of ``sql`` as NumPy arrays (customer ids as Python strings): the results
    are only looked up by key, a pandas frame of them would cost more than the query."""
    return connection.execute(sql, parameters or {}).fetchnumpy()


def category_columns(categories: Sequence[str]) -> list[str]:
    """The result columns of the per-category queries, one per category, in order."""
    return [f"category_{n}" for n in range(1, len(categories) + 1)]


def category_select(item: str, categories: Sequence[str]) -> str:
    """``item`` once per category, ``{n}`` its number: the category's name is never part of
    the SQL, only of the parameters (:func:`category_parameters`)."""
    return ",\n       ".join(item.format(n=n) for n in range(1, len(categories) + 1))


def category_parameters(categories: Sequence[str]) -> dict[str, object]:
    """``$categories`` (the list) and ``$category_<n>`` (each one) of the per-category
    queries."""
    numbered = {f"category_{n}": category for n, category in enumerate(categories, start=1)}
    return {"categories": list(categories), **numbered}


class WindowRows:
    """The (window start, customer_id) of the model frames' rows (unique), to place the
    one-pass queries' rows on them: each key is coded once as an integer (window number
    times the number of customers plus customer number), so a result is placed by one
    lookup of integers, not by reshaping and reindexing frames on string keys."""

    def __init__(self, window_starts: np.ndarray, customer_ids: np.ndarray):
        self._windows = pd.Index(pd.unique(window_starts))
        self._customers = pd.Index(pd.unique(customer_ids), dtype=object)
        self._rows = pd.Index(self._codes(window_starts, customer_ids))
        if not self._rows.is_unique:
            raise ValueError("the model frames have two rows of one customer in one window")

    def __len__(self) -> int:
        return len(self._rows)

    def _codes(self, window_starts: np.ndarray, customer_ids: np.ndarray) -> np.ndarray:
        """Each key's code, -1 for a window or customer not among the rows'."""
        windows = self._windows.get_indexer(np.asarray(window_starts))
        customers = self._customers.get_indexer(np.ma.filled(customer_ids, None))
        codes = windows.astype(np.int64) * len(self._customers) + customers
        return np.where((windows >= 0) & (customers >= 0), codes, -1)

    def positions(self, found: Columns) -> np.ndarray:
        """The row of each of ``found``'s rows (a query's window_start and customer_id), -1
        where it is none of the rows'."""
        return self._rows.get_indexer(self._codes(found["window_start"], found["customer_id"]))

    def values(
        self,
        found: Columns,
        columns: Sequence[str],
        fill_value: object,
        dtype: type,
        positions: np.ndarray | None = None,
    ) -> np.ndarray:
        """``found``'s ``columns`` on the rows, one column each, ``fill_value`` where
        ``found`` has no row; its rows that are none of the rows' are left out
        (``positions``: :meth:`positions` of ``found``, if already known)."""
        positions = self.positions(found) if positions is None else positions
        kept = positions >= 0
        values = np.full((len(self), len(columns)), fill_value, dtype=dtype)
        for i, column in enumerate(columns):
            values[positions[kept], i] = np.asarray(found[column], dtype=dtype)[kept]
        return values


def window_outcomes(
    connection: duckdb.DuckDBPyConnection, starts: Sequence[dt.datetime], horizon_days: int
) -> Columns:
    """window_start, customer_id, actual_orders, actual_spend: every customer who bought or
    returned something in [start, start + horizon_days) for each start."""
    with _model_windows(connection, starts, horizon_days):
        return _fetch_columns(connection, WINDOW_OUTCOMES_SQL)


def window_categories_bought(
    connection: duckdb.DuckDBPyConnection,
    starts: Sequence[dt.datetime],
    horizon_days: int,
    categories: Sequence[str],
) -> Columns:
    """window_start, customer_id and one boolean column per category of ``categories``
    (:func:`category_columns`): whether the customer bought it in [start, start +
    horizon_days), for each start and customer who bought any of them."""
    sql = WINDOW_CATEGORIES_BOUGHT_SQL.format(
        bought_at_time=category_select(BOUGHT_AT_TIME, categories),
        bought_in_window=category_select(BOUGHT_IN_WINDOW, categories),
    )
    with _model_windows(connection, starts, horizon_days):
        return _fetch_columns(connection, sql, category_parameters(categories))


def category_lines_before(
    connection: duckdb.DuckDBPyConnection,
    starts: Sequence[dt.datetime],
    categories: Sequence[str],
) -> Columns:
    """window_start, customer_id and one column per category of ``categories``
    (:func:`category_columns`): the customer's purchase lines in it before the start, for
    each start and customer with lines in any of them."""
    sql = CATEGORY_LINES_BEFORE_SQL.format(
        lines_in_segment=category_select(LINES_IN_SEGMENT, categories),
        running_lines=category_select(RUNNING_LINES, categories),
        lines=category_select(LINES_SELECTED, categories),
    )
    with cutoff_segments(connection, starts):
        return _fetch_columns(connection, sql, category_parameters(categories))


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

    lines_before: Columns  # category_lines_before
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
        self, rows: WindowRows, purchase_lines: pd.Series, categories: tuple[str, ...]
    ) -> np.ndarray:
        """Share of each row's customer's purchase lines in each category before the row's
        window start (``rows``: the rows' keys, ``purchase_lines``: theirs; one column per
        category)."""
        lines = rows.values(self.lines_before, category_columns(categories), 0, np.float64)
        return lines / np.maximum(purchase_lines.to_numpy(), 1)[:, None]

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
