"""Who buys and when: registered customers' latent truth, their orders, and guest orders."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.demo.catalogue import CATEGORY_SHARE, XMAS
from pipeline.demo.parameters import Behaviour, DirtRates
from pipeline.demo.sampling import segment_cumsum
from pipeline.demo.trading_calendar import TradingCalendar

COUNTRIES: tuple[str, ...] = (
    "United Kingdom",
    "Germany",
    "France",
    "EIRE",
    "Spain",
    "Netherlands",
    "Belgium",
    "Switzerland",
    "Portugal",
    "Australia",
    "Norway",
    "Italy",
    "Channel Islands",
    "Finland",
    "Cyprus",
    "Sweden",
    "Austria",
    "Denmark",
    "Poland",
    "Japan",
    "USA",
    "Canada",
    "Greece",
    "Iceland",
)
# Relative weights of the countries after the United Kingdom.
_FOREIGN_WEIGHTS = np.array(
    [22, 20, 8, 6, 5, 6, 5, 5, 3, 3, 4, 3, 3, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1], dtype=np.float64
)


@dataclass(frozen=True)
class Customers:
    """Latent truth of one chunk's registered customers (times in operational days)."""

    acquisition_u: np.ndarray  # first purchase
    rate_per_year: np.ndarray  # lambda: purchase rate while alive
    dropout_prob: np.ndarray  # p: drop-out probability after each purchase
    chances: np.ndarray  # k: repeat-purchase chances until the end of the horizon
    repeats: np.ndarray  # m: repeat purchases made (m <= k)
    drops: np.ndarray  # drops out before the end of the horizon
    extra_lines: np.ndarray  # mu: lines per order = 1 + Poisson(mu)
    bulk: np.ndarray
    anomalous: np.ndarray
    preference: np.ndarray  # category preferences (rows sum to 1)
    country: np.ndarray

    def __len__(self) -> int:
        return len(self.acquisition_u)


@dataclass(frozen=True)
class Owners:
    """Who owns each order: customers [0, n_registered), then one-off guests."""

    n_registered: int
    preference: np.ndarray
    country: np.ndarray
    bulk: np.ndarray
    anomalous: np.ndarray


@dataclass(frozen=True)
class Orders:
    """Purchase orders: owner, operational time, calendar minute and number of lines."""

    owner: np.ndarray
    u: np.ndarray
    minute: np.ndarray
    n_lines: np.ndarray

    def __len__(self) -> int:
        return len(self.owner)


def draw_countries(rng: np.random.Generator, n: int, uk_share: float) -> np.ndarray:
    weights = np.concatenate(
        ([uk_share], (1 - uk_share) * _FOREIGN_WEIGHTS / _FOREIGN_WEIGHTS.sum())
    )
    return rng.choice(len(COUNTRIES), size=n, p=weights / weights.sum()).astype(np.int8)


def preference_alpha(beh: Behaviour) -> np.ndarray:
    share = CATEGORY_SHARE.copy()
    share[XMAS] *= beh.christmas_weight
    return beh.preference_concentration * share / share.sum()


def draw_customers(
    rng: np.random.Generator, n: int, cal: TradingCalendar, beh: Behaviour
) -> Customers:
    """The BG/NBD story per customer: acquisition, lambda, p, and what follows from them."""
    last_u = cal.u_obs if beh.acquisition_days is None else cal.u_by_day(beh.acquisition_days)
    acq_u = rng.uniform(0.0, last_u, n)
    shape = beh.orders_per_year_shape
    rate_year = rng.gamma(shape, beh.orders_per_year_mean / shape, n)
    p = np.clip(rng.beta(beh.dropout_a, beh.dropout_b, n), 1e-9, 1.0)
    n_purchases = rng.geometric(p)  # purchases until drop-out, the first included
    span = cal.u_total - acq_u
    k = rng.poisson(rate_year / 365.25 * span)  # repeat-purchase chances until the end
    mu = rng.gamma(beh.extra_lines_shape, beh.extra_lines_mean / beh.extra_lines_shape, n)
    bulk = rng.random(n) < beh.bulk_share
    anomalous = rng.random(n) < beh.anomalous_share
    preference = rng.dirichlet(preference_alpha(beh), n)
    country = draw_countries(rng, n, beh.uk_share)
    return Customers(
        acquisition_u=acq_u,
        rate_per_year=rate_year,
        dropout_prob=p,
        chances=k,
        repeats=np.minimum(n_purchases - 1, k),
        drops=n_purchases - 1 <= k,
        extra_lines=mu,
        bulk=bulk,
        anomalous=anomalous,
        preference=preference,
        country=country,
    )


def customer_orders(
    rng: np.random.Generator, customers: Customers, cal: TradingCalendar
) -> tuple[Orders, np.ndarray]:
    """Each customer's first and repeat orders, and the operational time of drop-out.

    Repeat purchase times are the first m of k uniform order statistics on (acq, end], from
    exponential spacings: U_(j) = S_j / S_(k+1), with S_(k+1) = S_m + Gamma(k - m + 1).
    """
    c, acq_u, m, k = len(customers), customers.acquisition_u, customers.repeats, customers.chances
    span = cal.u_total - acq_u
    rep_owner = np.repeat(np.arange(c), m)
    s_within, s_m = segment_cumsum(rng.standard_exponential(len(rep_owner)), m)
    s_total = s_m + rng.standard_gamma((k - m + 1).astype(np.float64))
    rep_u = acq_u[rep_owner] + span[rep_owner] * s_within / s_total[rep_owner]
    last_rep = np.concatenate((rep_u, [0.0]))[np.where(m > 0, np.cumsum(m) - 1, len(rep_u))]
    dropout_u = np.where(m > 0, last_rep, acq_u)
    owner = np.concatenate((np.arange(c), rep_owner))
    u = np.concatenate((acq_u, rep_u))
    lines = 1 + rng.poisson(customers.extra_lines[owner])
    return Orders(owner=owner, u=u, minute=cal.to_minutes(u), n_lines=lines), dropout_u


def add_guest_orders(
    rng: np.random.Generator,
    customers: Customers,
    registered: Orders,
    cal: TradingCalendar,
    beh: Behaviour,
    dirt: DirtRates,
) -> tuple[Owners, Orders]:
    """One-off anonymous shoppers after the customers, sized to the guest share of lines."""
    c = len(customers)
    observed_lines = registered.n_lines[registered.minute < cal.cutoff_min].sum()
    share = dirt.guest_lines
    n_guest = int(round(observed_lines * share / (1.0 - share) / (1.0 + beh.extra_lines_mean)))
    guest_u = rng.uniform(0.0, cal.u_obs, n_guest)
    guest_mu = rng.gamma(
        beh.extra_lines_shape, beh.extra_lines_mean / beh.extra_lines_shape, n_guest
    )
    owners = Owners(
        n_registered=c,
        preference=np.vstack((customers.preference, rng.dirichlet(preference_alpha(beh), n_guest))),
        country=np.concatenate((customers.country, draw_countries(rng, n_guest, beh.uk_share))),
        bulk=np.concatenate((customers.bulk, np.zeros(n_guest, bool))),
        anomalous=np.concatenate((customers.anomalous, np.zeros(n_guest, bool))),
    )
    orders = Orders(
        owner=np.concatenate((registered.owner, c + np.arange(n_guest))).astype(np.int32),
        u=np.concatenate((registered.u, guest_u)),
        minute=np.concatenate((registered.minute, cal.to_minutes(guest_u))),
        n_lines=np.concatenate((registered.n_lines, 1 + rng.poisson(guest_mu))),
    )
    return owners, orders
