"""Buy-till-you-die: the BG/NBD model of Fader, Hardie & Lee (2005), fitted by maximum
likelihood with scipy.

Why not the ``lifetimes`` package: 0.11.3 (the last release, 2020) still imports and fits
here, but it is unmaintained, pulls in ``autograd`` and ``dill``, and warns under pandas 3
(an option it sets is removed in pandas 4). The model is four parameters and three closed
forms, so it lives here, checked against lifetimes on the CDNOW data (see the tests).

The story: while alive, a customer buys as a Poisson process with rate lambda
(lambda ~ Gamma(r, alpha) across customers); after each purchase they drop out for good with
probability p (p ~ Beta(a, b)). Per customer the model needs only

* ``x``: repeat purchases (orders after the first),
* ``t_x``: time of the last purchase, measured from the first,
* ``T``: time from the first purchase to the end of the observation (the cutoff).

Time here is in days. The formulas (FHL 2005, equations 6, 10 and the zero-purchase case):

    LL = ln G(r+x) - ln G(r) + r ln alpha + ln B(a, b+x) - ln B(a, b)
         + ln[ (alpha+T)^-(r+x) + [x>0] a/(b+x-1) (alpha+t_x)^-(r+x) ]

    P(alive) = 1 / (1 + [x>0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x))

    E[X(T, T+t)] = (a+b+x-1)/(a-1)
                   * (1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; t/(alpha+T+t)))
                   * P(alive)

    P(X(T, T+t) = 0) = 1 - P(alive) + P(alive) ((alpha+T)/(alpha+T+t))^(r+x)

The last line holds because a customer drops out only right after a purchase, and, given
alive, lambda's posterior is Gamma(r+x, alpha+T).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, digamma, gammaln, hyp2f1


@dataclass(frozen=True)
class BGNBDParams:
    r: float
    alpha: float
    a: float
    b: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def _arrays(x, t_x, T) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    t_x = np.asarray(t_x, dtype=np.float64)
    T = np.asarray(T, dtype=np.float64)
    if np.any(x < 0) or np.any(t_x < 0) or np.any(T < t_x):
        raise ValueError("BG/NBD needs x >= 0 and 0 <= t_x <= T for every customer")
    return x, t_x, T


def log_likelihood(params: BGNBDParams, x, t_x, T) -> np.ndarray:
    """Per-customer log-likelihood (FHL 2005, equation 6)."""
    x, t_x, T = _arrays(x, t_x, T)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + betaln(a, b + x) - betaln(a, b)
    alive_term = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    # ln(a / (b + x - 1)) is only defined for repeat buyers; others get -inf (term absent).
    with np.errstate(divide="ignore"):
        dropped_term = np.where(
            repeat,
            np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0)) - (r + x) * np.log(alpha + t_x),
            -np.inf,
        )
    return common + np.logaddexp(alive_term, dropped_term)


class MeanLikelihood:
    """Mean log-likelihood and its gradient in (r, alpha, a, b) over fixed customers.

    What a fit evaluates a few hundred times. Value and gradient share their terms, and
    every term that depends on x alone (the gamma, beta and digamma functions) is averaged
    over the distinct values of x weighted by their counts (a few hundred values for
    hundreds of thousands of customers), which makes a fit several times faster than
    evaluating them per customer. Same figures as :func:`log_likelihood` up to rounding.
    """

    def __init__(self, x, t_x, T):
        self.x, self.t_x, self.T = _arrays(x, t_x, T)
        self.distinct_x, counts = np.unique(self.x, return_counts=True)
        self.weights = counts / len(self.x)
        self.repeat = self.x > 0
        self.b_offset = np.where(self.repeat, self.x - 1, 0.0)  # b + x - 1 for repeat buyers

    def _by_x(self, values: np.ndarray) -> float:
        """Mean over customers of a function of x evaluated at the distinct x."""
        return float(values @ self.weights)

    def value_and_gradient(self, params: BGNBDParams) -> tuple[float, np.ndarray]:
        r, alpha, a, b = params.r, params.alpha, params.a, params.b
        x, ux = self.x, self.distinct_x
        log_alpha_T, log_alpha_tx = np.log(alpha + self.T), np.log(alpha + self.t_x)
        log_alive = -(r + x) * log_alpha_T
        # ln(a / (b + x - 1)) is only defined for repeat buyers; others get -inf (absent).
        log_dropped = np.where(
            self.repeat,
            np.log(a) - np.log(b + self.b_offset) - (r + x) * log_alpha_tx,
            -np.inf,
        )
        log_sum = np.logaddexp(log_alive, log_dropped)
        value = (
            self._by_x(gammaln(r + ux) + betaln(a, b + ux))
            - gammaln(r)
            + r * np.log(alpha)
            - betaln(a, b)
            + float(log_sum.mean())
        )
        w_dropped = np.exp(log_dropped - log_sum)
        w_alive = 1.0 - w_dropped
        mean_w_dropped = float(w_dropped.mean())
        d_r = (
            self._by_x(digamma(r + ux))
            - digamma(r)
            + np.log(alpha)
            - float((w_alive * log_alpha_T + w_dropped * log_alpha_tx).mean())
        )
        d_alpha = r / alpha - float(
            ((r + x) * (w_alive / (alpha + self.T) + w_dropped / (alpha + self.t_x))).mean()
        )
        digamma_abx = self._by_x(digamma(a + b + ux))
        d_a = digamma(a + b) - digamma_abx + mean_w_dropped / a
        d_b = (
            self._by_x(digamma(b + ux))
            - digamma_abx
            - digamma(b)
            + digamma(a + b)
            - float((w_dropped / (b + self.b_offset)).mean())
        )
        return value, np.array([d_r, d_alpha, d_a, d_b])


def fit_bgnbd(x, t_x, T, *, penalizer: float = 0.0) -> BGNBDParams:
    """Maximum-likelihood BG/NBD parameters (L-BFGS-B on the log scale, analytic gradient).

    ``penalizer`` adds ``penalizer * sum(params^2)`` as lifetimes does; 0 is plain ML.
    """
    likelihood = MeanLikelihood(x, t_x, T)
    if len(likelihood.x) < 2:
        raise ValueError("BG/NBD needs at least two customers to fit")
    scale = max(float(np.mean(likelihood.T)), 1.0)

    def objective(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        values = np.exp(log_params)
        mean, gradient = likelihood.value_and_gradient(BGNBDParams(*values))
        value = -mean + penalizer * np.sum(values**2)
        return float(value), (-gradient + 2 * penalizer * values) * values

    start = np.log([1.0, scale, 1.0, 1.0])
    result = minimize(objective, start, jac=True, method="L-BFGS-B", bounds=[(-10.0, 10.0)] * 4)
    if not np.isfinite(result.fun):
        raise ValueError(f"BG/NBD fit failed: {result.message}")
    r, alpha, a, b = np.exp(result.x)
    return BGNBDParams(float(r), float(alpha), float(a), float(b))


def _alive_odds_term(params: BGNBDParams, x, t_x, T) -> np.ndarray:
    """[x>0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x), computed on the log scale."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    repeat = x > 0
    log_term = (
        np.log(a)
        - np.log(np.where(repeat, b + x - 1, 1.0))
        + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
    )
    return np.where(repeat, np.exp(np.minimum(log_term, 700.0)), 0.0)


def probability_alive(params: BGNBDParams, x, t_x, T) -> np.ndarray:
    """P(the customer has not dropped out by T | x, t_x, T)."""
    x, t_x, T = _arrays(x, t_x, T)
    return 1.0 / (1.0 + _alive_odds_term(params, x, t_x, T))


def expected_purchases(params: BGNBDParams, t: float, x, t_x, T) -> np.ndarray:
    """E[purchases in (T, T+t] | x, t_x, T] (FHL 2005, equation 10)."""
    x, t_x, T = _arrays(x, t_x, T)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    z = t / (alpha + T + t)
    hyper = hyp2f1(r + x, b + x, a + b + x - 1, z)
    decay = np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t)))
    bracket = (a + b + x - 1) / (a - 1) * (1.0 - decay * hyper)
    return np.maximum(bracket * probability_alive(params, x, t_x, T), 0.0)


def probability_of_purchase(params: BGNBDParams, t: float, x, t_x, T) -> np.ndarray:
    """P(at least one purchase in (T, T+t] | x, t_x, T)."""
    x, t_x, T = _arrays(x, t_x, T)
    alive = probability_alive(params, x, t_x, T)
    no_purchase_if_alive = np.exp(
        (params.r + x) * (np.log(params.alpha + T) - np.log(params.alpha + T + t))
    )
    return alive * (1.0 - no_purchase_if_alive)


def rfm_inputs(frequency, recency_days, tenure_days) -> tuple[np.ndarray, ...]:
    """BG/NBD's (x, t_x, T) from the feature columns: x = orders - 1, T = days since the
    first purchase, t_x = T - days since the last purchase."""
    frequency = np.asarray(frequency, dtype=np.float64)
    tenure = np.asarray(tenure_days, dtype=np.float64)
    recency = np.asarray(recency_days, dtype=np.float64)
    x = np.maximum(frequency - 1.0, 0.0)
    t_x = np.clip(tenure - recency, 0.0, None)
    return x, np.minimum(t_x, tenure), tenure
