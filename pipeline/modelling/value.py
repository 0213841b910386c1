"""Customer value: the Gamma-Gamma spend model, a discounted 12-month lifetime value and the
date of the next order.

Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV"; Colombo & Jiang 1999): a customer's
order values scatter around their own mean, Gamma(p, nu), and the means vary across
customers, nu ~ Gamma(q, gamma). Given x orders with mean value m, the expected value of
the customer's next order is the credibility-weighted mix of the population mean and their
own:

    E[M | m, x] = (q - 1) / (p x + q - 1) * gamma p / (q - 1) + p x / (p x + q - 1) * m

so a customer with one large order is pulled towards the population, one with twenty is
not, and no cap on order values is needed. The per-customer likelihood of m given x:

    LL = ln G(p x + q) - ln G(p x) - ln G(q) + q ln gamma + (p x - 1) ln m + p x ln x
         - (p x + q) ln(gamma + x m)

fitted by maximum likelihood (scipy) on customers with at least two orders and a positive
net order value (the textbook uses repeat orders only; the features hold every order's
mean, which is what is used here). m is net of returns. On the retail demo the textbook
fit (repeat orders only, gross) gives the same heavy tail (q 1.39 against 1.41 here) and
the model's assumption holds: the number of orders and the mean repeat order value are
uncorrelated (Pearson -0.01).

Why not a library: the same as for :mod:`pipeline.modelling.btyd` (``lifetimes`` is
unmaintained); three parameters and one closed form, checked against simulation in the
tests.

Lifetime value (``clv_12m``): expected orders in each twelfth of the next year (differences
of BG/NBD's cumulative expected orders) x E[M], each twelfth discounted at
``ANNUAL_DISCOUNT_RATE`` (10% a year, a common cost of capital for a retailer; factor
1.1^(-month/12)). The orders come from a BG/NBD fitted in trading time
(:mod:`pipeline.modelling.trading_clock`) on the training customers at the cutoff, over
12 x ``DAYS_PER_MONTH`` trading days: the clock averages one trading day per calendar day
over a year, so a year ahead is 365.25 trading days whatever the season of the snapshot
(on the demos the clock gives the next 365 calendar days 363.5-365.8 trading days).
In calendar days BG/NBD reads a busy season's orders as a faster rhythm and as recent
activity (more customers alive): with the history ending after the autumn peak, it
predicted 16% more orders in the next 12 months than the retail demo's customers placed,
against 1.6% in trading time (benchmarks/RESULTS.md). The twelfths are of the year's
trading time, not calendar months: an order discounted a month early or late moves its
value by at most 0.8% (1.1^(1/12)). A model registered before the trading-time fit falls
back to the calendar-day BG/NBD.

Next order (``days_to_next_order``): the median wait for the next order of a customer who
is still active, from BG/NBD's posterior purchase rate (Gamma(r + x, alpha + T)):
P(no order in t | alive) = ((alpha + T) / (alpha + T + t))^(r + x) = 1/2, so
t = (alpha + T) (2^(1 / (r + x)) - 1). Read it with P(alive): a customer who has likely
lapsed has a date that will probably not come.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import gammaln

from pipeline.modelling import btyd
from pipeline.modelling.model_inputs import bgnbd_inputs

ANNUAL_DISCOUNT_RATE = 0.10
CLV_MONTHS = 12
DAYS_PER_MONTH = 365.25 / 12  # a twelfth of a year, in calendar or trading days


@dataclass(frozen=True)
class GammaGammaParams:
    p: float
    q: float
    gamma: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def _order_inputs(orders, mean_value) -> tuple[np.ndarray, np.ndarray]:
    orders = np.asarray(orders, dtype=np.float64)
    mean_value = np.asarray(mean_value, dtype=np.float64)
    if orders.shape != mean_value.shape:
        raise ValueError("Gamma-Gamma needs one order count and one mean value per customer")
    return orders, mean_value


def gamma_gamma_log_likelihood(params: GammaGammaParams, orders, mean_value) -> np.ndarray:
    """Per-customer log-likelihood of the mean order value given the number of orders."""
    x, m = _order_inputs(orders, mean_value)
    p, q, g = params.p, params.q, params.gamma
    return (
        gammaln(p * x + q)
        - gammaln(p * x)
        - gammaln(q)
        + q * np.log(g)
        + (p * x - 1) * np.log(m)
        + p * x * np.log(x)
        - (p * x + q) * np.log(g + x * m)
    )


def fit_gamma_gamma(orders, mean_value) -> GammaGammaParams:
    """Maximum-likelihood parameters from customers with at least two orders and a positive
    mean order value (q > 1, so the population mean gamma p / (q - 1) exists)."""
    x, m = _order_inputs(orders, mean_value)
    usable = (x >= 2) & (m > 0) & np.isfinite(m)
    if usable.sum() < 10:
        raise ValueError(
            f"Gamma-Gamma needs at least 10 customers with two orders or more, got {usable.sum()}"
        )
    x, m = x[usable], m[usable]

    def params_of(v: np.ndarray) -> GammaGammaParams:
        return GammaGammaParams(p=np.exp(v[0]), q=1.0 + np.exp(v[1]), gamma=np.exp(v[2]))

    def objective(v: np.ndarray) -> float:
        value = -float(np.mean(gamma_gamma_log_likelihood(params_of(v), x, m)))
        return value if np.isfinite(value) else 1e10

    start = np.array([0.0, 0.0, np.log(float(np.median(m)))])
    result = minimize(objective, start, method="L-BFGS-B", bounds=[(-10.0, 10.0)] * 3)
    if result.fun >= 1e10:
        raise ValueError(f"Gamma-Gamma fit failed: {result.message}")
    fitted = params_of(result.x)
    return GammaGammaParams(float(fitted.p), float(fitted.q), float(fitted.gamma))


def expected_order_value(params: GammaGammaParams, orders, mean_value) -> np.ndarray:
    """E[value of the next order | x orders with mean value m] (negative means count as 0;
    customers without an order get the population mean)."""
    x, m = _order_inputs(orders, mean_value)
    x = np.maximum(x, 0.0)
    m = np.where(np.isfinite(m), np.maximum(m, 0.0), 0.0)
    p, q, g = params.p, params.q, params.gamma
    return (g + x * m) * p / (p * x + q - 1.0)


def discounted_value(
    cumulative_orders, order_value: np.ndarray, *, annual_rate: float = ANNUAL_DISCOUNT_RATE
) -> np.ndarray:
    """Sum over the next CLV_MONTHS months of (expected orders in the month) x order value,
    discounted monthly. ``cumulative_orders(days)`` returns each customer's expected orders
    in the next ``days`` days."""
    value = np.zeros(len(order_value))
    before = np.zeros(len(order_value))
    for month in range(1, CLV_MONTHS + 1):
        upto = np.asarray(cumulative_orders(month * DAYS_PER_MONTH), dtype=np.float64)
        value += (upto - before) * order_value / (1.0 + annual_rate) ** (month / 12)
        before = upto
    return value


def days_to_next_order(params: btyd.BGNBDParams, x, T) -> np.ndarray:
    """Median days to the next order of a still active customer (see the module docstring)."""
    x = np.asarray(x, dtype=np.float64)
    T = np.asarray(T, dtype=np.float64)
    return (params.alpha + T) * np.expm1(np.log(2.0) / (params.r + x))


# -- what a registered propensity model carries and scores --------------------------------------


def mean_order_value(X: pd.DataFrame) -> np.ndarray:
    """Net spend / orders so far (0 when returns exceed purchases)."""
    orders = np.maximum(X["frequency"].to_numpy(np.float64), 1.0)
    return np.maximum(X["monetary"].to_numpy(np.float64), 0.0) / orders


def fit_value_params(X: pd.DataFrame, bgnbd_calendar: dict[str, float]) -> dict | None:
    """What scoring needs for value (plain floats, stored with the model): the Gamma-Gamma
    parameters fitted on ``X``'s customers, a BG/NBD fitted in calendar days (the date of
    the next order) and one fitted on them in trading time (the 12-month orders); None when
    too few customers have two orders to fit Gamma-Gamma."""
    try:
        spend = fit_gamma_gamma(X["frequency"].to_numpy(np.float64), mean_order_value(X))
    except ValueError:
        return None
    trading = btyd.fit_bgnbd(*bgnbd_inputs(X, trading_time=True))
    return {
        "gamma_gamma": spend.as_dict(),
        "bgnbd_calendar": dict(bgnbd_calendar),
        "bgnbd_trading": trading.as_dict(),
    }


def lifetime_value(
    X: pd.DataFrame, params: dict, order_value, *, annual_rate: float = ANNUAL_DISCOUNT_RATE
) -> np.ndarray:
    """The 12-month value of each row of ``X`` at ``order_value`` an order (see the module
    docstring); ``annual_rate=0`` gives the undiscounted value, ``order_value=1`` the
    expected orders in the year."""
    trading = "bgnbd_trading" in params
    bgnbd = btyd.BGNBDParams(**params["bgnbd_trading" if trading else "bgnbd_calendar"])
    inputs = bgnbd_inputs(X, trading_time=trading)
    order_value = np.broadcast_to(np.asarray(order_value, dtype=np.float64), (len(X),))
    return discounted_value(
        lambda days: btyd.expected_purchases(bgnbd, days, *inputs),
        order_value,
        annual_rate=annual_rate,
    )


def customer_value(X: pd.DataFrame, params: dict | None) -> pd.DataFrame:
    """expected_order_value, clv_12m and days_to_next_order per row of ``X`` (the model
    input frame); NaN without ``params`` (a model trained before value was scored)."""
    if params is None:
        empty = np.full(len(X), np.nan)
        return pd.DataFrame(
            {"expected_order_value": empty, "clv_12m": empty, "days_to_next_order": empty},
            index=X.index,
        )
    spend = GammaGammaParams(**params["gamma_gamma"])
    bgnbd = btyd.BGNBDParams(**params["bgnbd_calendar"])
    x, t_x, T = bgnbd_inputs(X, trading_time=False)
    order_value = expected_order_value(spend, X["frequency"], mean_order_value(X))
    clv = lifetime_value(X, params, order_value)
    return pd.DataFrame(
        {
            "expected_order_value": order_value,
            "clv_12m": clv,
            "days_to_next_order": days_to_next_order(bgnbd, x, T),
        },
        index=X.index,
    )
