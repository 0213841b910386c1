"""The trading calendar: operational time (days of average demand) to calendar minutes."""

from __future__ import annotations

from datetime import date

import numpy as np

# Relative demand by weekday (Monday first; no trading on Saturdays), by month, and by hour
# of the day from 7:00 to 20:00.
_WEEKDAY_WEIGHT = np.array([1.0, 1.1, 1.1, 1.25, 0.85, 0.0, 0.65])
_MONTH_WEIGHT = np.array([0.75, 0.7, 0.9, 0.8, 0.95, 0.9, 0.9, 0.95, 1.25, 1.35, 1.6, 1.1])
_HOUR_WEIGHT = np.array([2, 7, 10, 13, 14, 15, 13, 11, 7, 4, 2, 1.5, 0.5])
_FIRST_HOUR = 7


class TradingCalendar:
    """Maps operational time (days of average demand) to calendar minutes since the start.

    Simulating in operational time and mapping through the inverse cumulative demand puts
    weekly, yearly and daily seasonality on a homogeneous Poisson process. ``seasonality``
    raises the monthly weights to a power: 1 is the default retailer, 3 a strongly seasonal
    one (November about twelve times February), 0 none.
    """

    def __init__(self, start: date, end: date, horizon_days: int, seasonality: float = 1.0) -> None:
        self.n_obs_days = (end - start).days + 1
        self.n_days = self.n_obs_days + horizon_days
        day = np.arange(self.n_days).astype("timedelta64[D]") + np.datetime64(start, "D")
        weekday = (day.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
        month = day.astype("datetime64[M]").astype(np.int64) % 12  # 0 = January
        day_of_month = (day - day.astype("datetime64[M]")).astype(np.int64) + 1
        closed = ((month == 11) & (day_of_month >= 23)) | ((month == 0) & (day_of_month <= 3))
        weight = _WEEKDAY_WEIGHT[weekday] * _MONTH_WEIGHT[month] ** seasonality * ~closed
        if weight[: self.n_obs_days].sum() <= 0:
            raise ValueError("the period from start_date to end_date has no trading day")
        self.weight = weight / weight.mean()
        self.cum = np.cumsum(self.weight)
        self.u_obs = float(self.cum[self.n_obs_days - 1])
        self.u_total = float(self.cum[-1])
        self.month = month.astype(np.int8)
        self.cutoff_min = self.n_obs_days * 1440
        self.end_min = self.n_days * 1440
        hour_cdf = np.concatenate(([0.0], np.cumsum(_HOUR_WEIGHT)))
        self._hour_cdf = hour_cdf / hour_cdf[-1]
        self._hour_min = (_FIRST_HOUR + np.arange(len(hour_cdf))) * 60.0

    def u_by_day(self, days: int) -> float:
        """Operational time at the end of the first ``days`` days (at most the observed ones)."""
        return float(self.cum[min(max(days, 1), self.n_obs_days) - 1])

    def to_minutes(self, u: np.ndarray) -> np.ndarray:
        u = np.clip(u, 0.0, np.nextafter(self.u_total, 0.0))
        # The first day whose cumulative demand exceeds u: it always has demand > 0.
        d = np.minimum(np.searchsorted(self.cum, u, side="right"), self.n_days - 1)
        frac = np.clip((u - (self.cum[d] - self.weight[d])) / self.weight[d], 0.0, 1.0)
        minute_of_day = np.minimum(np.interp(frac, self._hour_cdf, self._hour_min), 1199.0)
        return d.astype(np.int64) * 1440 + minute_of_day.astype(np.int64)
