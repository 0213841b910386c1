"""A trading clock: time measured in days of average store demand instead of calendar days.

Buy-till-you-die models assume a customer's purchase rate is constant in time. Retail demand
is not: no trade on some weekdays, a Christmas closure, a busy autumn. Measured on a clock
that runs fast when the shop is busy and stops when it is closed, purchase rates are close
to constant again, and the length of the next horizon on that clock says how busy the
coming season will be (the next 90 days from early December hold about 65 "average" days).

The clock is estimated from the store's own daily order counts before ``as_of`` (so it
never sees the period it is used to predict):

* log E[orders on day d] = trend(d) + weekday(d) + month(d), a Poisson regression fitted by
  iteratively reweighted least squares with a small ridge penalty; the trend is piecewise
  linear (a knot about every 120 days) so growth or decline of the customer base does not
  leak into the seasonal factors. Month factors need a year of history, else only weekdays.
* A weekday with no orders at all is closed (for example Saturdays). A calendar date with
  no orders in any observed year is closed too (the Christmas break), when the fitted model
  expected at least 3 orders on it in total (chance would leave it empty 5 % of the time).
* The clock's rate on day d is exp(weekday + month) on open days and 0 on closed days,
  scaled so the last (up to) 365 days average 1: a trading day is an average day.
* The horizon after ``as_of`` is measured with the same factors (weekday, month, closures
  carried over from the past year); the trend is not extrapolated.

With little history (under 28 days or under 100 orders) the clock is the calendar.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from pipeline.sql_files import SqlFiles

SQL = SqlFiles(__package__)
DAILY_ORDERS_SQL = SQL.read("daily_orders.sql")

MIN_DAYS = 28
MIN_ORDERS = 100
CLOSED_DATE_MIN_EXPECTED = 3.0
TREND_KNOT_DAYS = 120
RIDGE = 1.0


def daily_orders(connection: duckdb.DuckDBPyConnection, as_of: dt.datetime) -> pd.DataFrame:
    """Orders (distinct invoices) per calendar day, for days before ``as_of``."""
    frame = connection.execute(DAILY_ORDERS_SQL, {"as_of": as_of}).df()
    frame["day"] = pd.to_datetime(frame["day"]).dt.date
    return frame


@dataclass(frozen=True)
class TradingClock:
    first_day: dt.date
    as_of: dt.date
    cumulative: np.ndarray  # trading days elapsed at the start of each day, first_day..as_of
    horizon_days: int
    horizon_trading_days: float
    weekday_factor: np.ndarray  # 7 values, Monday first; 0 on closed weekdays
    month_factor: np.ndarray  # 12 values, January first
    closed_dates: frozenset[tuple[int, int]]  # (month, day) closed every year

    def __post_init__(self):
        for values in (self.cumulative, self.weekday_factor, self.month_factor):
            values.flags.writeable = False  # one clock is shared by every caller of the fit

    @property
    def elapsed(self) -> float:
        """Trading days from the first day to ``as_of``."""
        return float(self.cumulative[-1])

    def position(self, timestamps) -> np.ndarray:
        """Trading days from the first day to the middle of each timestamp's trading day."""
        days = pd.to_datetime(pd.Series(timestamps)).dt.normalize()
        index = (days - pd.Timestamp(self.first_day)).dt.days.to_numpy()
        if len(index) and (index.min() < 0 or index.max() >= len(self.cumulative) - 1):
            raise ValueError(f"timestamps outside {self.first_day} .. {self.as_of}")
        start = self.cumulative[index]
        return start + 0.5 * (self.cumulative[index + 1] - start)

    def days_since(self, timestamps) -> np.ndarray:
        """Trading days from each timestamp to ``as_of``."""
        return self.elapsed - self.position(timestamps)


def _calendar(first: dt.date, n_days: int) -> pd.DatetimeIndex:
    return pd.date_range(first, periods=n_days, freq="D")


def _tent_basis(n_days: int) -> np.ndarray:
    """Piecewise-linear trend basis (hat functions); the columns sum to one."""
    knots = np.linspace(0.0, n_days - 1.0, max(2, round(n_days / TREND_KNOT_DAYS) + 1))
    t = np.arange(n_days, dtype=np.float64)
    width = knots[1] - knots[0] if len(knots) > 1 else 1.0
    return np.clip(1.0 - np.abs(t[:, None] - knots[None, :]) / width, 0.0, None)


def _poisson_ridge(design: np.ndarray, counts: np.ndarray, ridge: float) -> np.ndarray:
    """Maximum penalised-likelihood Poisson regression by Newton steps (IRLS).

    The steps start from a least-squares fit of log counts: started at zero (one order a
    day), the first steps overshoot when a store takes hundreds of orders a day, and the
    iteration settles on huge coefficients whose exp() overflows."""
    beta = np.linalg.lstsq(design, np.log(counts + 0.5), rcond=None)[0]
    penalty = np.full(design.shape[1], ridge)
    for _ in range(100):
        mu = np.exp(np.clip(design @ beta, -30.0, 30.0))
        gradient = design.T @ (counts - mu) - penalty * beta
        hessian = design.T @ (design * mu[:, None]) + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        beta += step
        if np.max(np.abs(step)) < 1e-9:
            break
    return beta


def _identity_clock(first: dt.date, as_of: dt.date, horizon_days: int) -> TradingClock:
    n_days = (as_of - first).days
    return TradingClock(
        first_day=first,
        as_of=as_of,
        cumulative=np.arange(n_days + 1, dtype=np.float64),
        horizon_days=horizon_days,
        horizon_trading_days=float(horizon_days),
        weekday_factor=np.ones(7),
        month_factor=np.ones(12),
        closed_dates=frozenset(),
    )


def fit_trading_clock(
    orders_per_day: pd.DataFrame, as_of: dt.datetime | dt.date, horizon_days: int
) -> TradingClock:
    """Estimate the clock from ``orders_per_day`` (columns day, orders; days before as_of).

    The fit depends only on its inputs, so the last few are remembered: live scoring (the
    HTTP API) fits the same store's clock for every request."""
    as_of_day = as_of.date() if isinstance(as_of, dt.datetime) else as_of
    days = orders_per_day.loc[orders_per_day["day"] < as_of_day]
    return _fit_trading_clock(
        tuple(days["day"]), tuple(days["orders"].tolist()), as_of_day, horizon_days
    )


@functools.lru_cache(maxsize=16)
def _fit_trading_clock(
    day_list: tuple[dt.date, ...],
    order_list: tuple[int, ...],
    as_of_day: dt.date,
    horizon_days: int,
) -> TradingClock:
    days = pd.DataFrame({"day": list(day_list), "orders": list(order_list)})
    if days.empty:
        raise ValueError(f"no orders before {as_of_day}: the trading clock needs history")
    first = min(days["day"])
    n_days = (as_of_day - first).days
    if n_days < MIN_DAYS or days["orders"].sum() < MIN_ORDERS:
        return _identity_clock(first, as_of_day, horizon_days)

    calendar = _calendar(first, n_days)
    counts = np.zeros(n_days)
    counts[[(d - first).days for d in days["day"]]] = days["orders"].to_numpy(np.float64)
    weekday = calendar.dayofweek.to_numpy()
    month = calendar.month.to_numpy() - 1
    open_weekday = np.array([counts[weekday == w].sum() > 0 for w in range(7)])
    with_months = n_days >= 365

    def seasonal_design(dates: pd.DatetimeIndex) -> np.ndarray:
        parts = [np.eye(7)[dates.dayofweek.to_numpy()]]
        if with_months:
            parts.append(np.eye(12)[dates.month.to_numpy() - 1])
        return np.hstack(parts)

    def is_open(dates: pd.DatetimeIndex, closed: frozenset[tuple[int, int]]) -> np.ndarray:
        codes = dates.month.to_numpy() * 100 + dates.day.to_numpy()
        closed_date = np.isin(codes, [m * 100 + d for m, d in closed])
        return open_weekday[dates.dayofweek.to_numpy()] & ~closed_date

    def fit(closed: frozenset[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
        open_days = is_open(calendar, closed)
        beta = _poisson_ridge(design[open_days], counts[open_days], RIDGE)
        return beta, np.exp(np.clip(design @ beta, -30.0, 30.0))

    seasonal = seasonal_design(calendar)
    design = np.hstack([seasonal, _tent_basis(n_days)])
    beta, expected = fit(frozenset())
    # A calendar date is closed when it had no orders in every year although the fitted
    # model expected at least CLOSED_DATE_MIN_EXPECTED orders there in total.
    on_open_weekday = open_weekday[weekday]
    by_date = (
        pd.DataFrame(
            {"orders": counts, "expected": expected * on_open_weekday},
            index=pd.MultiIndex.from_arrays([month + 1, calendar.day.to_numpy()]),
        )
        .groupby(level=[0, 1])
        .sum()
    )
    closed = by_date.loc[
        (by_date["orders"] == 0) & (by_date["expected"] >= CLOSED_DATE_MIN_EXPECTED)
    ].index
    closed_dates = frozenset(
        zip(
            closed.get_level_values(0).astype(int).tolist(),
            closed.get_level_values(1).astype(int).tolist(),
            strict=True,
        )
    )
    if closed_dates:
        beta, _ = fit(closed_dates)
    seasonal_beta = beta[: seasonal.shape[1]]

    def rate(dates: pd.DatetimeIndex) -> np.ndarray:
        return np.exp(seasonal_design(dates) @ seasonal_beta) * is_open(dates, closed_dates)

    history_rate = rate(calendar)
    scale = history_rate[-min(365, n_days) :].mean()
    if not scale > 0:
        return _identity_clock(first, as_of_day, horizon_days)
    horizon_rate = rate(_calendar(as_of_day, horizon_days)) / scale
    weekday_factor = np.exp(seasonal_beta[:7]) * open_weekday
    month_factor = np.exp(seasonal_beta[7:19]) if with_months else np.ones(12)
    return TradingClock(
        first_day=first,
        as_of=as_of_day,
        cumulative=np.concatenate([[0.0], np.cumsum(history_rate / scale)]),
        horizon_days=horizon_days,
        horizon_trading_days=float(horizon_rate.sum()),
        weekday_factor=weekday_factor / weekday_factor[open_weekday].mean(),
        month_factor=month_factor / month_factor.mean(),
        closed_dates=closed_dates,
    )
