"""What is in an order: lines by category preference and popularity, quantities and prices."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.demo.catalogue import XMAS, Catalogue
from pipeline.demo.parameters import DirtRates
from pipeline.demo.population import Orders, Owners
from pipeline.demo.sampling import cumulative, draw_from_rows
from pipeline.demo.trading_calendar import TradingCalendar

# Units per line, as in UCI: 1 and 2 most often, dozens and half dozens next (median 3).
_REGULAR_QTY = np.array([1, 2, 3, 4, 5, 6, 8, 10, 12, 24])
_REGULAR_QTY_P = np.array([0.30, 0.17, 0.08, 0.08, 0.02, 0.12, 0.03, 0.04, 0.13, 0.03])
# Bulk buyers (wholesalers): mostly two to four dozen, rarely hundreds.
_BULK_QTY = np.array([24, 25, 36, 48, 50, 72, 96, 100, 120, 144, 192, 200, 240, 288, 400, 600])
_BULK_QTY_P = np.array([26, 5, 10, 14, 3, 8, 7, 4, 4, 6, 3, 2, 2, 2, 1, 1], dtype=float)
_BULK_QTY_P /= _BULK_QTY_P.sum()
# Monster lines: Pareto-tailed units from 1,000 (P(> 1000 x) = x ** -1 / _MONSTER_TAIL),
# at most UCI's largest line, and only of cheap products (UCI's: 80,995 at GBP 2.08).
_MONSTER_MIN, _MONSTER_MAX, _MONSTER_TAIL = 1000, 80995, 1.2
_MONSTER_MAX_PRICE = 2.5
_ODD_PRICE_RATE = 0.15  # anomalous customers' lines at an odd unit price


@dataclass
class Lines:
    """Order lines: order, position in it, owner, category, product, priced quantity."""

    order: np.ndarray
    position: np.ndarray
    owner: np.ndarray
    category: np.ndarray
    product: np.ndarray
    keep: np.ndarray  # False for a line dropped because its product repeats in the order
    quantity: np.ndarray | None = None
    price: np.ndarray | None = None
    extreme: np.ndarray | None = None  # lines of thousands of units (anomalous customers)

    def __len__(self) -> int:
        return len(self.order)


def draw_lines(
    rng: np.random.Generator,
    orders: Orders,
    owners: Owners,
    cal: TradingCalendar,
    cat: Catalogue,
) -> Lines:
    """Category from the owner's preferences (Christmas mostly from August), then product."""
    line_order = np.repeat(np.arange(len(orders), dtype=np.int32), orders.n_lines)
    n_total_lines = len(line_order)
    starts = np.cumsum(orders.n_lines) - orders.n_lines
    position = np.arange(n_total_lines) - np.repeat(starts, orders.n_lines)
    line_owner = orders.owner[line_order]
    cum_pref = cumulative(owners.preference)
    category = draw_from_rows(rng, cum_pref, line_owner)
    month = cal.month[orders.minute // 1440][line_order]
    off_season = (category == XMAS) & (month < 7) & (rng.random(n_total_lines) < 0.85)
    category[off_season] = draw_from_rows(rng, cum_pref, line_owner[off_season])
    product = cat.draw(rng, category)
    keep = np.ones(n_total_lines, bool)
    for attempt in range(4):  # a product at most once per order: redraw, finally drop
        pair = line_order.astype(np.int64) * cat.n_products + product
        ordering = np.argsort((pair << 20) | position)  # ties broken by position
        sorted_pair = pair[ordering]
        repeated = ordering[1:][sorted_pair[1:] == sorted_pair[:-1]]  # never position 0
        if len(repeated) == 0:
            break
        if attempt == 3:
            keep[repeated] = False
        else:
            product[repeated] = cat.draw(rng, category[repeated])
    return Lines(line_order, position, line_owner, category, product, keep)


def price_lines(
    rng: np.random.Generator,
    lines: Lines,
    orders: Orders,
    owners: Owners,
    cat: Catalogue,
    dirt: DirtRates,
    monster_line_rate: float,
) -> None:
    """Quantities by buyer type, list prices with tier discounts, monsters and odd prices."""
    n = len(lines)
    is_bulk = owners.bulk[lines.owner]
    quantity = np.where(
        is_bulk,
        rng.choice(_BULK_QTY, n, p=_BULK_QTY_P),
        rng.choice(_REGULAR_QTY, n, p=_REGULAR_QTY_P),
    )
    base = cat.base_price[lines.product]
    # Fewer of the expensive items: a quarter for everyone above GBP 8, half for bulk above 4.
    quantity = np.where(base >= 8.0, -(-quantity // 4), quantity)
    quantity = np.where(is_bulk & (base >= 4.0) & (base < 8.0), -(-quantity // 2), quantity)
    is_anomalous = owners.anomalous[lines.owner]
    draw = rng.random(n)
    extreme = is_anomalous & (base <= _MONSTER_MAX_PRICE) & (draw < monster_line_rate)
    tail = rng.pareto(1.0 / _MONSTER_TAIL, extreme.sum()) + 1.0
    quantity[extreme] = np.minimum(np.round(_MONSTER_MIN * tail), _MONSTER_MAX)
    tier = np.where(quantity >= 100, 0.8, np.where(quantity >= 24, 0.9, 1.0))
    price_list_year = orders.minute[lines.order] // (365 * 1440)  # prices change once a year
    price = np.maximum(np.round(base * tier * 1.05**price_list_year, 2), 0.01)
    # Odd prices: far below the list price, or far above it on a single unit (a manual line).
    odd = is_anomalous & ~extreme & (rng.random(n) < _ODD_PRICE_RATE)
    factor = np.exp(rng.normal(0.0, 2.0, odd.sum()))
    price[odd] = np.maximum(np.round(base[odd] * factor, 3), 0.001)
    quantity[np.flatnonzero(odd)[factor > 1.0]] = 1
    price[rng.random(n) < dirt.zero_price_lines] = 0.0
    lines.quantity = quantity.astype(np.int32)
    lines.price = price
    lines.extreme = extreme
