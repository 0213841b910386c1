"""Pareto/NBD and BG/NBD against references: the likelihood against numerical integration of
the model's story, and both fits against customers drawn from the models with the
parameters Fader and Hardie publish for the CDNOW sample (2,357 customers, 39 weeks of
calibration; Pareto/NBD r=0.55, alpha=10.58, s=0.61, beta=11.67; BG/NBD r=0.243,
alpha=4.414, a=0.793, b=2.426). The data itself cannot be downloaded here, so the check is
that the fit recovers those parameters from data of the same shape and that its
predictions match what the simulated customers did next."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate

from pipeline.modelling import btyd, value
from pipeline.modelling.evaluation import expected_calibration_error

CDNOW_PARETO = btyd.ParetoNBDParams(r=0.55, alpha=10.58, s=0.61, beta=11.67)
CDNOW_BGNBD = btyd.BGNBDParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
WEEKS = 39.0  # the calibration period and the hold-out period of the CDNOW notes


def cdnow_ages(rng: np.random.Generator, n: int) -> np.ndarray:
    """T in weeks: first purchases spread over the first 12 weeks of a 39-week period, in
    whole days as in the data."""
    return (WEEKS * 7 - rng.integers(0, 12 * 7, n)) / 7.0


def simulate_pareto(params: btyd.ParetoNBDParams, n: int, seed: int = 7):
    """(x, t_x, T), alive at T, orders in (T, T + 39 weeks] of Pareto/NBD customers."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(params.r, 1.0 / params.alpha, n)
    lifetime = rng.exponential(1.0 / rng.gamma(params.s, 1.0 / params.beta, n))
    T = cdnow_ages(rng, n)
    observed = np.minimum(lifetime, T)
    x = rng.poisson(rate * observed).astype(np.float64)
    # the last of x uniform purchase times on [0, observed]
    t_x = np.where(x > 0, observed * rng.beta(np.maximum(x, 1.0), 1.0), 0.0)
    future = np.clip(np.minimum(lifetime, T + WEEKS) - T, 0.0, None)
    return x, t_x, T, lifetime > T, rng.poisson(rate * future)


def simulate_bgnbd(params: btyd.BGNBDParams, n: int, seed: int = 7):
    """(x, t_x, T) and orders in (T, T + 39 weeks] of BG/NBD customers (all at once)."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(params.r, 1.0 / params.alpha, n)
    dropout = rng.beta(params.a, params.b, n)
    T = cdnow_ages(rng, n)
    x, t_x, future = np.zeros(n), np.zeros(n), np.zeros(n, dtype=np.int64)
    clock, active = np.zeros(n), np.ones(n, dtype=bool)
    while active.any():
        clock[active] += rng.exponential(1.0 / rate[active])
        active &= clock <= T + WEEKS
        before = active & (clock <= T)
        x[before], t_x[before] = x[before] + 1, clock[before]
        future[active & ~before] += 1
        active &= rng.random(n) >= dropout  # a drop-out right after each purchase
    return x, t_x, T, future


def _integrated_likelihood(params: btyd.ParetoNBDParams, x: int, t_x: float, T: float) -> float:
    """ln of the story's likelihood integrated numerically over lambda and mu: alive at T,
    or dropped out at some time between the last purchase and T."""

    r, alpha, s, beta = params.r, params.alpha, params.s, params.beta
    norm = alpha**r * beta**s / (math.gamma(r) * math.gamma(s))

    def density(mu, lam):
        given = lam**x * math.exp(-(lam + mu) * T) + lam**x * mu / (lam + mu) * (
            math.exp(-(lam + mu) * t_x) - math.exp(-(lam + mu) * T)
        )
        # the two gamma densities of lambda and mu
        return (
            given
            * norm
            * lam ** (r - 1)
            * math.exp(-alpha * lam)
            * mu ** (s - 1)
            * math.exp(-beta * mu)
        )

    value, _ = integrate.dblquad(density, 0, np.inf, 0, np.inf, epsabs=1e-14)
    return float(np.log(value))


@pytest.mark.parametrize(
    "params",
    [CDNOW_PARETO, btyd.ParetoNBDParams(r=0.55, alpha=15.0, s=0.61, beta=5.0)],
    ids=["alpha<beta", "alpha>=beta"],
)
def test_pareto_nbd_likelihood_is_the_integrated_story(params):
    customers = [(0, 0.0, 30.0), (3, 20.0, 35.0), (12, 5.0, 38.0)]
    closed_form = btyd.pareto_log_likelihood(params, *map(np.array, zip(*customers, strict=True)))
    reference = [_integrated_likelihood(params, *c) for c in customers]
    np.testing.assert_allclose(closed_form, reference, rtol=1e-6)


def test_pareto_nbd_stays_finite_for_heavy_buyers():
    x = np.array([0.0, 50.0, 400.0])
    t_x, T = np.array([0.0, 30.0, 38.9]), np.array([39.0, 39.0, 39.0])
    for params in (CDNOW_PARETO, btyd.ParetoNBDParams(0.55, 15.0, 0.61, 5.0)):
        assert np.isfinite(btyd.pareto_log_likelihood(params, x, t_x, T)).all()
        p = btyd.pareto_probability_of_purchase(params, WEEKS, x, t_x, T)
        assert np.all((p >= 0) & (p <= 1))
        assert np.all(btyd.pareto_expected_purchases(params, WEEKS, x, t_x, T) >= p - 1e-9)


def test_pareto_nbd_recovers_the_cdnow_parameters_and_predicts_the_holdout():
    x, t_x, T, alive, future = simulate_pareto(CDNOW_PARETO, 4 * 2357)
    fitted = btyd.fit_pareto_nbd(x, t_x, T)
    # the purchase process is well identified; s and beta trade off against each other,
    # so the drop-out side is checked through what it predicts
    assert fitted.r == pytest.approx(CDNOW_PARETO.r, rel=0.2)
    assert fitted.alpha == pytest.approx(CDNOW_PARETO.alpha, rel=0.2)
    assert fitted.s / fitted.beta == pytest.approx(CDNOW_PARETO.s / CDNOW_PARETO.beta, rel=0.4)
    p_alive = btyd.pareto_probability_alive(fitted, x, t_x, T)
    assert p_alive.mean() == pytest.approx(alive.mean(), abs=0.03)
    bought = future > 0
    p = btyd.pareto_probability_of_purchase(fitted, WEEKS, x, t_x, T)
    assert p.mean() == pytest.approx(bought.mean(), abs=0.02)
    assert expected_calibration_error(bought, p) < 0.03
    expected = btyd.pareto_expected_purchases(fitted, WEEKS, x, t_x, T)
    assert expected.sum() == pytest.approx(future.sum(), rel=0.1)
    # the fitted model explains its own data better than the published parameters do
    own = btyd.pareto_log_likelihood(fitted, x, t_x, T).sum()
    assert own >= btyd.pareto_log_likelihood(CDNOW_PARETO, x, t_x, T).sum()
    # a fit on a random half of the customers predicts nearly the same
    sampled = btyd.fit_pareto_nbd(x, t_x, T, max_rows=len(x) // 2)
    p_sampled = btyd.pareto_probability_of_purchase(sampled, WEEKS, x, t_x, T)
    assert np.abs(p_sampled - p).mean() < 0.01 and np.abs(p_sampled - p).max() < 0.05


def test_bgnbd_recovers_the_cdnow_parameters_and_predicts_the_holdout():
    x, t_x, T, future = simulate_bgnbd(CDNOW_BGNBD, 4 * 2357)
    fitted = btyd.fit_bgnbd(x, t_x, T)
    for name, published in CDNOW_BGNBD.as_dict().items():
        assert fitted.as_dict()[name] == pytest.approx(published, rel=0.3), name
    bought = future > 0
    p = btyd.probability_of_purchase(fitted, WEEKS, x, t_x, T)
    assert p.mean() == pytest.approx(bought.mean(), abs=0.02)
    assert expected_calibration_error(bought, p) < 0.03
    expected = btyd.expected_purchases(fitted, WEEKS, x, t_x, T)
    assert expected.sum() == pytest.approx(future.sum(), rel=0.1)


def test_a_bgnbd_fit_on_the_same_customers_is_not_repeated(monkeypatch):
    x, t_x, T, _ = simulate_bgnbd(CDNOW_BGNBD, 500)
    first = btyd.fit_bgnbd(x, t_x, T)
    fits = []
    real_fit = btyd._fit_bgnbd
    monkeypatch.setattr(btyd, "_fit_bgnbd", lambda *a, **k: fits.append(1) or real_fit(*a, **k))
    # the same values (a list, a copy) come back without a fit
    assert btyd.fit_bgnbd(list(x), t_x.copy(), T) == first
    assert fits == []
    # one customer's value changed, a penalty, fewer customers: each fits again
    moved = T.copy()
    moved[0] += 1.0
    assert btyd.fit_bgnbd(x, t_x, moved) != first
    assert btyd.fit_bgnbd(x, t_x, T, penalizer=0.1) != first
    btyd.fit_bgnbd(x[:-1], t_x[:-1], T[:-1])
    assert len(fits) == 3


# -- Gamma-Gamma, lifetime value and the next order ---------------------------------------------

CDNOW_GAMMA_GAMMA = value.GammaGammaParams(p=6.25, q=3.74, gamma=15.44)  # FHL 2005, CDNOW


def test_gamma_gamma_recovers_the_cdnow_parameters_and_beats_the_raw_mean():
    rng = np.random.default_rng(3)
    n = 20_000  # p is weakly identified: a few thousand customers leave it within +-50%
    orders = rng.integers(1, 15, n).astype(np.float64)
    nu = rng.gamma(CDNOW_GAMMA_GAMMA.q, 1 / CDNOW_GAMMA_GAMMA.gamma, n)
    true_mean = CDNOW_GAMMA_GAMMA.p / nu
    # the mean of k order values ~ Gamma(p, nu) is Gamma(k p, k nu)
    observed = rng.gamma(orders * CDNOW_GAMMA_GAMMA.p, 1 / (orders * nu))
    fitted = value.fit_gamma_gamma(orders, observed)
    for name, expected in CDNOW_GAMMA_GAMMA.as_dict().items():
        assert fitted.as_dict()[name] == pytest.approx(expected, rel=0.3), name
    shrunk = value.expected_order_value(fitted, orders, observed)
    # the credibility-weighted value is nearer each customer's true mean than their own
    # average, most of all for customers with a single order
    single = orders == 1
    for rows in (np.ones(n, dtype=bool), single):
        assert np.mean((shrunk - true_mean)[rows] ** 2) < np.mean((observed - true_mean)[rows] ** 2)
    population = CDNOW_GAMMA_GAMMA.gamma * CDNOW_GAMMA_GAMMA.p / (CDNOW_GAMMA_GAMMA.q - 1)
    assert value.expected_order_value(fitted, [0.0], [0.0])[0] == pytest.approx(population, rel=0.2)


def test_lifetime_value_discounts_each_month_and_the_next_order_is_an_even_bet():
    rate = np.array([1.0, 2.0])  # orders a month, constant
    worth = np.array([10.0, 5.0])
    clv = value.discounted_value(lambda days: rate * days / value.DAYS_PER_MONTH, worth)
    months = np.arange(1, 13)
    expected = (rate * worth)[:, None] * (1.1 ** (-months / 12))[None, :]
    np.testing.assert_allclose(clv, expected.sum(axis=1))
    assert np.all(clv < 12 * rate * worth)
    # P(an order within the median wait) = 1/2 for a customer certain to be alive
    T = np.array([30.0, 200.0, 400.0])
    wait = value.days_to_next_order(CDNOW_BGNBD, np.zeros(3), T)
    p = btyd.probability_of_purchase(CDNOW_BGNBD, wait, np.zeros(3), np.zeros(3), T)
    np.testing.assert_allclose(p, 0.5)


def seasonal_customers(n: int, seed: int, history_days: float = 730.0):
    """BG/NBD customers (r=0.5, alpha=25 days, a=0.8, b=6) who buy on a trading clock that
    runs 1.5x on the busiest day and 0.5x on the quietest (one year averages 1), the
    busiest day 45 days before the snapshot: their model input columns in calendar and in
    trading days, and their orders in the calendar year after the snapshot."""
    rng = np.random.default_rng(seed)
    year = 365.25
    grid = np.linspace(0.0, history_days + year, 200_001)
    weight = 1.0 + 0.5 * np.cos(2 * np.pi * (grid - history_days + 45.0) / year)
    clock = np.concatenate(([0.0], np.cumsum((weight[1:] + weight[:-1]) / 2 * np.diff(grid))))
    snapshot, end = np.interp([history_days, history_days + year], grid, clock)
    rate, dropout = rng.gamma(0.5, 1 / 25.0, n), rng.beta(0.8, 6.0, n)
    first = rng.uniform(0.0, snapshot, n)
    x, future, last, t = np.zeros(n), np.zeros(n), first.copy(), first.copy()
    active = rng.random(n) >= dropout
    while active.any():
        t[active] += rng.exponential(1.0 / rate[active])
        active &= t <= end
        before = active & (t <= snapshot)
        x[before], last[before] = x[before] + 1, t[before]
        future[active & ~before] += 1
        active &= rng.random(n) >= dropout
    frame = pd.DataFrame(
        {
            "frequency": x + 1,
            "monetary": (x + 1) * rng.gamma(4.0, 25.0, n),
            "recency_days": history_days - np.interp(last, clock, grid),
            "tenure_days": history_days - np.interp(first, clock, grid),
            "trading_recency_days": snapshot - last,
            "trading_tenure_days": snapshot - first,
        }
    )
    return frame, future


@pytest.mark.parametrize("seed", [11, 12])
def test_twelve_month_orders_follow_the_trading_clock_not_the_season_of_the_snapshot(seed):
    X, future = seasonal_customers(20_000, seed)
    calendar = btyd.fit_bgnbd(*btyd.rfm_inputs(X["frequency"], X["recency_days"], X["tenure_days"]))
    params = value.fit_value_params(X, calendar.as_dict())
    orders = value.lifetime_value(X, params, 1.0, annual_rate=0.0)
    assert orders.sum() == pytest.approx(future.sum(), rel=0.05)
    # in calendar days the busy weeks before the snapshot read as faster, livelier
    # customers: the year's orders come out far too high (a model registered before the
    # trading-time fit still scores this way)
    before = {k: v for k, v in params.items() if k != "bgnbd_trading"}
    assert value.lifetime_value(X, before, 1.0, annual_rate=0.0).sum() > 1.15 * future.sum()
    # clv_12m is those orders x the Gamma-Gamma order value, discounted
    worth = value.customer_value(X, params)
    undiscounted = value.lifetime_value(X, params, worth["expected_order_value"], annual_rate=0)
    assert np.all(worth["clv_12m"] <= undiscounted + 1e-9)
    assert worth["clv_12m"].sum() == pytest.approx(undiscounted.sum() / 1.1**0.5, rel=0.03)
