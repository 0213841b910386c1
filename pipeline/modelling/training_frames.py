"""Out-of-time training frames: features as of a cutoff, outcomes from the horizon after it.

Windows
-------
* ``snapshot``: the scoring date; final scores use features of purchases before it (the
  same rule as features.customer_rfm: AS_OF_DATE, else the day after the last purchase).
* ``cutoff``: the evaluation cutoff, by default ``horizon_days`` before the snapshot, so
  its window [cutoff, cutoff + horizon) is the last complete horizon.
* Training windows: the evaluation window plus ``training_windows`` earlier ones, every
  ``window_step_days`` (default 12 windows a month apart: a year of seasons). Each row is one
  customer at one window start: the features of :func:`pipeline.features.customer_features`
  as of the window start (only transactions strictly before it), the trading-clock columns
  (clock fitted on orders before the window start) and the outcome in the window. Every
  window is read in the same pass over the lines (:func:`window_frames`: the features by
  :func:`pipeline.features.customer_features_at`, the outcomes and category counts by
  :mod:`.window_queries`); only the trading clock is fitted per window.

Why a customer split at the latest cutoff and not a second, earlier cutoff: the latest
complete window is the most like the next horizon (nearest in time, the same customers), so
it is where candidates are compared, calibrated and checked against the champion. Its
customers are split, stratified by the outcome, into training and validation customers; the
validation customers' rows are left out of *every* window, because their earlier windows
overlap the evaluation window in time and would leak its outcome. The earlier windows teach
the models how the season of the horizon moves purchasing (a December horizon is not a
September one); they are never used for evaluation.

Training rows are capped (``max_training_rows``, default :data:`MAX_TRAINING_ROWS`): above
the cap, each earlier window keeps the same share of its training customers' rows, drawn at
random with the split's seed, and the evaluation window keeps all of them (its customers are
the ones the models are calibrated, compared and checked on, and every one of them gets an
out-of-fold prediction). Every fit's cost grows with its rows, so a large customer base or
more windows do not make the models step slower; on the 10M-row demo the cap keeps 63% of the
earlier rows and the validation figures move in the fourth decimal at most
(benchmarks/RESULTS.md). At least :data:`MIN_EARLIER_SHARE` of each earlier window is kept,
so with more customers at the cutoff than the cap the rows can exceed it.

Product categories come from features.product_categories (OTHER and uncategorised lines are
left out); the modelled categories are the ones with the most buyers before the evaluation
cutoff.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import duckdb
import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from pipeline.features import customer_features_at, default_as_of
from pipeline.modelling.trading_clock import TradingClock, daily_orders, fit_trading_clock
from pipeline.modelling.window_queries import (
    CategoryCounts,
    WindowRows,
    category_columns,
    window_categories_bought,
    window_outcomes,
)
from pipeline.product_categories import OTHER
from pipeline.sql_files import SqlFiles
from pipeline.threads import single_blas_thread

SQL = SqlFiles(__package__)
TOP_CATEGORIES_SQL = SQL.read("top_categories.sql")

SHARE_PREFIX = "share:"
SEASON_PREFIX = "season:"
BOUGHT_PREFIX = "bought:"


def share_column(category: str) -> str:
    """Share of the customer's purchase lines in ``category`` before the window."""
    return SHARE_PREFIX + category


def season_column(category: str) -> str:
    """log(the category's store-wide share in the same window a year earlier / its share in
    the year before the window): > 0 when the category is in season."""
    return SEASON_PREFIX + category


def bought_column(category: str) -> str:
    """Outcome: the customer bought ``category`` in the window."""
    return BOUGHT_PREFIX + category


@dataclass(frozen=True)
class ModelWindows:
    snapshot: dt.datetime
    cutoff: dt.datetime
    horizon_days: int
    training_windows: int = 12
    window_step_days: int = 30

    @property
    def horizon(self) -> dt.timedelta:
        return dt.timedelta(days=self.horizon_days)

    @property
    def cutoff_end(self) -> dt.datetime:
        return self.cutoff + self.horizon

    def window_starts(self, first_purchase: dt.datetime) -> list[dt.datetime]:
        """The evaluation cutoff and the earlier window starts that have some history."""
        starts = []
        for k in range(self.training_windows + 1):
            start = self.cutoff - dt.timedelta(days=k * self.window_step_days)
            if start <= first_purchase:
                break
            starts.append(start)
        return starts


def resolve_snapshot(connection: duckdb.DuckDBPyConnection, as_of: dt.date | None) -> dt.datetime:
    """The snapshot date features.customer_rfm uses: AS_OF_DATE, else the day after the
    last purchase."""
    if as_of is not None:
        return dt.datetime.combine(as_of, dt.time())
    return default_as_of(connection)


def resolve_windows(
    snapshot: dt.datetime,
    horizon_days: int,
    *,
    cutoff: dt.datetime | None = None,
    training_windows: int = 12,
    window_step_days: int = 30,
) -> ModelWindows:
    if horizon_days < 1:
        raise ValueError(f"horizon_days must be at least 1, got {horizon_days}")
    if training_windows < 0 or window_step_days < 1:
        raise ValueError("training_windows must be >= 0 and window_step_days >= 1")
    cutoff = cutoff if cutoff is not None else snapshot - dt.timedelta(days=horizon_days)
    if cutoff + dt.timedelta(days=horizon_days) > snapshot:
        raise ValueError(
            f"the cutoff {cutoff:%Y-%m-%d} plus the {horizon_days}-day horizon ends after the "
            f"snapshot {snapshot:%Y-%m-%d}: the label window would be incomplete"
        )
    return ModelWindows(snapshot, cutoff, horizon_days, training_windows, window_step_days)


def top_categories(
    connection: duckdb.DuckDBPyConnection,
    as_of: dt.datetime,
    *,
    limit: int = 12,
    min_buyers: int = 10,
) -> tuple[str, ...]:
    """The categories with the most buyers before ``as_of``; empty without product data."""
    rows = connection.execute(
        TOP_CATEGORIES_SQL,
        {"as_of": as_of, "other": OTHER, "min_buyers": min_buyers, "limit": limit},
    ).fetchall()
    return tuple(category for category, _ in rows)


def _trading_columns(frame: pd.DataFrame, clock: TradingClock) -> pd.DataFrame:
    frame["trading_tenure_days"] = clock.days_since(frame["first_purchase_ts"])
    frame["trading_recency_days"] = clock.days_since(frame["last_purchase_ts"])
    frame["horizon_trading_days"] = clock.horizon_trading_days
    return frame


def add_trading_columns(
    frame: pd.DataFrame, orders_per_day: pd.DataFrame, as_of: dt.datetime, horizon_days: int
) -> tuple[pd.DataFrame, TradingClock]:
    """Add the trading-clock columns (recency and tenure in trading days, the horizon's
    trading days) from first_purchase_ts and last_purchase_ts; times before the store's
    first recorded day count from that day."""
    clock = fit_trading_clock(orders_per_day, as_of, horizon_days)
    first_day = pd.Timestamp(clock.first_day)
    for column in ("first_purchase_ts", "last_purchase_ts"):
        frame[column] = pd.to_datetime(frame[column]).clip(lower=first_day)
    return _trading_columns(frame, clock), clock


def _with_columns(frame: pd.DataFrame, columns: dict) -> pd.DataFrame:
    return pd.concat([frame, pd.DataFrame(columns, index=frame.index)], axis=1)


def _category_columns(
    shares: np.ndarray, season: np.ndarray, categories: tuple[str, ...]
) -> dict[str, np.ndarray]:
    """share:<category> and season:<category> (``shares``, ``season``: one row per frame
    row, one column per category)."""
    columns = {}
    for i, category in enumerate(categories):
        columns[share_column(category)] = shares[:, i]
        columns[season_column(category)] = season[:, i]
    return columns


def _window_rows(frame: pd.DataFrame) -> WindowRows:
    """(as_of, customer_id) of the rows: the keys of the one-pass queries' rows."""
    return WindowRows(frame["as_of"].to_numpy(), frame["customer_id"].to_numpy())


def _outcome_columns(
    connection: duckdb.DuckDBPyConnection,
    starts: Sequence[dt.datetime],
    horizon_days: int,
    categories: tuple[str, ...],
    rows: WindowRows,
) -> dict[str, np.ndarray]:
    """actual_orders, actual_spend, purchased and bought:<category> of ``rows`` (every
    window's), from the one-pass queries."""
    outcomes = window_outcomes(connection, starts, horizon_days)
    found = rows.positions(outcomes)
    orders = rows.values(outcomes, ["actual_orders"], 0, np.int64, found)[:, 0]
    spend = rows.values(outcomes, ["actual_spend"], 0.0, np.float64, found)[:, 0]
    columns = {"actual_orders": orders, "actual_spend": spend, "purchased": orders > 0}
    if categories:
        bought = window_categories_bought(connection, starts, horizon_days, categories)
        flags = rows.values(bought, category_columns(categories), False, bool)
        columns |= {bought_column(c): flags[:, i] for i, c in enumerate(categories)}
    return columns


def _trading_columns_per_window(
    frame: pd.DataFrame,
    starts: Sequence[dt.datetime],
    bounds: np.ndarray,
    orders_per_day: pd.DataFrame,
    horizon_days: int,
) -> tuple[pd.DataFrame, list[TradingClock | None]]:
    """:func:`add_trading_columns` on the stacked rows of each window (rows ``bounds[k]`` to
    ``bounds[k + 1]`` are ``starts[k]``'s), and each window's clock (None without rows)."""
    parts, clocks = [], []
    for start, (first, last) in zip(starts, pairwise(bounds), strict=True):
        if first == last:
            clocks.append(None)
            continue
        part = frame.iloc[first:last][["first_purchase_ts", "last_purchase_ts"]].copy()
        part, clock = add_trading_columns(part, orders_per_day, start, horizon_days)
        parts.append(part)
        clocks.append(clock)
    trading = pd.concat(parts)
    frame = frame.assign(**{c: trading[c] for c in ("first_purchase_ts", "last_purchase_ts")})
    return _with_columns(frame, trading.iloc[:, 2:].to_dict("series")), clocks


def _stacked_windows(
    connection: duckdb.DuckDBPyConnection,
    starts: Sequence[dt.datetime],
    horizon_days: int,
    orders_per_day: pd.DataFrame | None,
    categories: tuple[str, ...],
    features: pd.DataFrame | None,
    *,
    with_outcomes: bool,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Every window's rows stacked in the order of ``starts`` (:func:`features_at`'s
    columns and, with ``with_outcomes``, :func:`window_frames`'), and the bounds of each
    window's rows (``starts[k]``'s are rows ``bounds[k]`` to ``bounds[k + 1]``). The
    columns are computed once for all the rows; per window only the trading clock is fitted."""
    if features is None:
        features = customer_features_at(connection, starts)
    features["customer_id"] = features["customer_id"].astype(object)
    if orders_per_day is None:
        orders_per_day = daily_orders(connection, max(starts))
    order = [np.flatnonzero((features["as_of"] == start).to_numpy()) for start in starts]
    sizes = [len(rows) for rows in order]
    bounds = np.cumsum([0, *sizes])
    order = np.concatenate(order)
    frame = features.take(order).reset_index(drop=True)
    frame["window_start"] = pd.Series(np.repeat(np.array(starts, dtype=object), sizes))
    if frame.empty:
        return frame, bounds
    frame, clocks = _trading_columns_per_window(frame, starts, bounds, orders_per_day, horizon_days)
    rows = _window_rows(frame) if categories or with_outcomes else None
    columns = {}
    if categories:
        counts = CategoryCounts.read(connection, starts, horizon_days, categories)
        shares = counts.shares(rows, frame["purchase_lines"], categories)
        seasons = [
            counts.season_index(
                start, horizon_days, categories, dt.datetime.combine(clock.first_day, dt.time())
            )
            for start, clock in zip(starts, clocks, strict=True)
            if clock is not None
        ]
        season = np.repeat(np.array(seasons), [size for size in sizes if size], axis=0)
        columns = _category_columns(shares, season, categories)
    if with_outcomes:
        columns |= _outcome_columns(connection, starts, horizon_days, categories, rows)
    if columns:
        frame = _with_columns(frame, columns)
    return frame, bounds


def _per_window(stacked: pd.DataFrame, bounds: np.ndarray) -> list[pd.DataFrame]:
    """The stacked rows cut into one frame per window (empty for a window without rows)."""
    return [stacked.iloc[first:last].reset_index(drop=True) for first, last in pairwise(bounds)]


def features_at(
    connection: duckdb.DuckDBPyConnection,
    starts: Sequence[dt.datetime],
    horizon_days: int,
    *,
    orders_per_day: pd.DataFrame | None = None,
    categories: tuple[str, ...] = (),
    features: pd.DataFrame | None = None,
) -> list[pd.DataFrame]:
    """For each of ``starts``, one row per customer with a purchase before it:
    customer_features, the trading-clock columns for the horizon after the start and, if
    asked, category columns; nothing at or after the start is read for it. Every window is
    computed in one pass over the lines (:func:`pipeline.features.customer_features_at`).
    A window without customers gives an empty frame of the feature columns. ``features``:
    the customer features of ``starts`` already computed (the rows of
    :func:`pipeline.features.customer_features_at`)."""
    if features is None:
        features = customer_features_at(connection, starts)
    stacked, bounds = _stacked_windows(
        connection, starts, horizon_days, orders_per_day, categories, features, with_outcomes=False
    )
    empty = features.iloc[:0].reset_index(drop=True)  # the columns of a window without rows
    return [
        frame if not frame.empty else empty.assign(window_start=start)
        for start, frame in zip(starts, _per_window(stacked, bounds), strict=True)
    ]


def features_as_of(
    connection: duckdb.DuckDBPyConnection,
    as_of: dt.datetime,
    horizon_days: int,
    *,
    orders_per_day: pd.DataFrame | None = None,
    categories: tuple[str, ...] = (),
    features: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per customer with a purchase before ``as_of``: customer_features, the
    trading-clock columns for the horizon after ``as_of`` and, if asked, category columns.
    Nothing at or after ``as_of`` is read. ``features``: customer_features as of ``as_of``
    already computed (features.customer_rfm of the same date), to add the columns to."""
    (frame,) = features_at(
        connection,
        [as_of],
        horizon_days,
        orders_per_day=orders_per_day,
        categories=categories,
        features=features,
    )
    return frame


def window_frames(
    connection: duckdb.DuckDBPyConnection,
    starts: Sequence[dt.datetime],
    horizon_days: int,
    *,
    orders_per_day: pd.DataFrame | None = None,
    categories: tuple[str, ...] = (),
    features: pd.DataFrame | None = None,
) -> list[pd.DataFrame]:
    """For each of ``starts``, the features as of the start (:func:`features_at`, with its
    ``features``) and the outcomes in [start, start + horizon): actual_orders, actual_spend,
    purchased and, with categories, one bought:<category> column each. One pass over the
    lines for all windows. Windows without customers are left out."""
    stacked, bounds = _stacked_windows(
        connection, starts, horizon_days, orders_per_day, categories, features, with_outcomes=True
    )
    return [frame for frame in _per_window(stacked, bounds) if not frame.empty]


def window_frame(
    connection: duckdb.DuckDBPyConnection,
    start: dt.datetime,
    horizon_days: int,
    *,
    orders_per_day: pd.DataFrame | None = None,
    categories: tuple[str, ...] = (),
    features: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Features as of ``start`` and the outcomes in [start, start + horizon), as
    :func:`window_frames` for one window (an empty frame without customers)."""
    frames = window_frames(
        connection,
        [start],
        horizon_days,
        orders_per_day=orders_per_day,
        categories=categories,
        features=features,
    )
    if frames:
        return frames[0]
    return features_as_of(
        connection, start, horizon_days, orders_per_day=orders_per_day, features=features
    )


class NotEnoughHistoryError(ValueError):
    """The data cannot support an out-of-time model with the configured windows."""


@dataclass
class TrainingData:
    """Stacked window rows and the customer split (see the module docstring);
    ``earlier_share``: the share of the earlier windows' training rows kept under the cap."""

    windows: ModelWindows
    rows: pd.DataFrame
    validation_customers: frozenset[str]
    categories: tuple[str, ...] = ()
    window_starts: tuple[dt.datetime, ...] = field(default=())
    earlier_share: float = 1.0

    @property
    def is_validation_customer(self) -> pd.Series:
        return self.rows["customer_id"].isin(self.validation_customers)

    @property
    def train(self) -> pd.DataFrame:
        """Every window's rows of the training customers."""
        return self.rows.loc[~self.is_validation_customer].reset_index(drop=True)

    @property
    def validation(self) -> pd.DataFrame:
        """The evaluation window's rows of the validation customers."""
        latest = self.rows["window_start"] == self.windows.cutoff
        return self.rows.loc[latest & self.is_validation_customer].reset_index(drop=True)

    @property
    def evaluation_window(self) -> pd.DataFrame:
        """The evaluation window's rows of every customer (for predicted vs actual)."""
        return self.rows.loc[self.rows["window_start"] == self.windows.cutoff].reset_index(
            drop=True
        )


MIN_OUTCOMES_PER_CLASS = 10
MAX_TRAINING_ROWS = 250_000
MIN_EARLIER_SHARE = 0.1


def cap_training_rows(
    rows: pd.DataFrame,
    is_validation: np.ndarray,
    cutoff: dt.datetime,
    max_training_rows: int,
    seed: int,
) -> tuple[pd.DataFrame, float]:
    """``rows`` with the earlier windows' training rows sampled down so that the training
    rows number about ``max_training_rows`` (see the module docstring; 0: no cap), and the
    share of the earlier rows kept. The validation customers' rows and the evaluation
    window's are all kept; each earlier window keeps the same share of its rows, at least
    :data:`MIN_EARLIER_SHARE`, drawn with ``seed``; the rows keep their order."""
    window, _ = pd.factorize(rows["window_start"])
    earlier = (rows["window_start"] != cutoff).to_numpy() & ~is_validation
    training, earlier_rows = int((~is_validation).sum()), int(earlier.sum())
    if max_training_rows <= 0 or training <= max_training_rows or not earlier_rows:
        return rows, 1.0
    share = (max_training_rows - (training - earlier_rows)) / earlier_rows
    share = min(max(share, MIN_EARLIER_SHARE), 1.0)
    random = np.random.default_rng(seed)
    keep = ~earlier
    for start in np.unique(window[earlier]):
        candidates = np.flatnonzero(earlier & (window == start))
        chosen = random.choice(candidates, size=round(share * len(candidates)), replace=False)
        keep[chosen] = True
    return rows.loc[keep].reset_index(drop=True), share


@single_blas_thread
def build_training_data(
    connection: duckdb.DuckDBPyConnection,
    windows: ModelWindows,
    *,
    validation_share: float = 0.3,
    seed: int = 42,
    max_categories: int = 12,
    with_categories: bool = True,
    max_training_rows: int = MAX_TRAINING_ROWS,
) -> TrainingData:
    """Stack the training windows, split the evaluation cutoff's customers and cap the
    training rows (``max_training_rows``, 0: every row)."""
    if not 0.05 <= validation_share <= 0.5:
        raise ValueError(f"validation_share must be in [0.05, 0.5], got {validation_share}")
    orders_per_day = daily_orders(connection, windows.cutoff)
    if orders_per_day.empty:
        raise NotEnoughHistoryError(
            f"no purchases before the cutoff {windows.cutoff:%Y-%m-%d}: the models need history "
            f"before the last {windows.horizon_days}-day horizon (lower HORIZON_DAYS or set an "
            "earlier cutoff)"
        )
    first_purchase = dt.datetime.combine(min(orders_per_day["day"]), dt.time())
    categories = top_categories(connection, windows.cutoff, limit=max_categories)
    categories = categories if with_categories else ()
    starts = windows.window_starts(first_purchase)
    horizon_days = windows.horizon_days
    rows, _ = _stacked_windows(
        connection, starts, horizon_days, orders_per_day, categories, None, with_outcomes=True
    )
    latest = rows.loc[rows["window_start"] == windows.cutoff]
    outcome_counts = latest["purchased"].value_counts()
    fewest = min(outcome_counts.get(True, 0), outcome_counts.get(False, 0))
    if fewest < MIN_OUTCOMES_PER_CLASS / validation_share:
        raise NotEnoughHistoryError(
            f"{len(latest)} customers bought before the cutoff {windows.cutoff:%Y-%m-%d}, "
            f"{outcome_counts.get(True, 0)} of them bought again in the "
            f"{windows.horizon_days} days after it; the models need at least "
            f"{int(np.ceil(MIN_OUTCOMES_PER_CLASS / validation_share))} customers with and "
            "without a purchase (more data, a shorter HORIZON_DAYS or an earlier cutoff)"
        )
    _, validation_ids = train_test_split(
        latest["customer_id"].to_numpy(dtype=object),
        test_size=validation_share,
        stratify=latest["purchased"].to_numpy(),
        random_state=seed,
    )
    validation_customers = frozenset(validation_ids)
    rows, earlier_share = cap_training_rows(
        rows,
        rows["customer_id"].isin(validation_customers).to_numpy(),
        windows.cutoff,
        max_training_rows,
        seed,
    )
    return TrainingData(
        windows=windows,
        rows=rows,
        validation_customers=validation_customers,
        categories=categories,
        window_starts=tuple(starts),
        earlier_share=earlier_share,
    )


@single_blas_thread
def scoring_frame(
    connection: duckdb.DuckDBPyConnection,
    windows: ModelWindows,
    categories: tuple[str, ...] = (),
    features: pd.DataFrame | None = None,
    orders_per_day: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Features as of the snapshot, for the final scores (``features``, ``orders_per_day``:
    see :func:`features_as_of`)."""
    return features_as_of(
        connection,
        windows.snapshot,
        windows.horizon_days,
        categories=categories,
        features=features,
        orders_per_day=orders_per_day,
    )
