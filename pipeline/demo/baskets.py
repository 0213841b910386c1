"""What is in an order: lines by category preference and popularity, quantities and prices."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.demo.catalogue import XMAS, Catalogue
from pipeline.demo.parameters import DirtRates
from pipeline.demo.population import Orders, Owners
from pipeline.demo.sampling import cumulative, draw_from_rows
from pipeline.demo.trading_calendar import TradingCalendar

_REGULAR_QTY = np.array([1, 2, 3, 4, 5, 6, 8, 10, 12, 24])
_REGULAR_QTY_P = np.array([0.24, 0.17, 0.08, 0.10, 0.03, 0.14, 0.04, 0.04, 0.13, 0.03])
_BULK_QTY = np.array(
    [24, 25, 36, 48, 50, 72, 96, 100, 120, 144, 192, 200, 240, 288, 300, 384, 400, 480, 576, 600]
)
_BULK_QTY_P = np.array([14, 3, 10, 12, 3, 9, 8, 4, 5, 7, 4, 3, 4, 3, 2, 2, 2, 2, 2, 1], dtype=float)
_BULK_QTY_P /= _BULK_QTY_P.sum()


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
) -> None:
    """Quantities by buyer type, list prices with tier discounts, extremes and odd prices."""
    n = len(lines)
    is_bulk = owners.bulk[lines.owner]
    quantity = np.where(
        is_bulk,
        rng.choice(_BULK_QTY, n, p=_BULK_QTY_P),
        rng.choice(_REGULAR_QTY, n, p=_REGULAR_QTY_P),
    )
    base = cat.base_price[lines.product]
    quantity = np.where(~is_bulk & (base >= 8.0), -(-quantity // 4), quantity)
    is_anomalous = owners.anomalous[lines.owner]
    extreme = is_anomalous & (rng.random(n) < 0.06)
    quantity[extreme] = np.round(np.exp(rng.uniform(np.log(1000), np.log(80000), extreme.sum())))
    tier = np.where(quantity >= 100, 0.8, np.where(quantity >= 24, 0.9, 1.0))
    price_list_year = orders.minute[lines.order] // (365 * 1440)  # prices change once a year
    price = np.maximum(np.round(base * tier * 1.05**price_list_year, 2), 0.01)
    odd = is_anomalous & (rng.random(n) < 0.12)
    price[odd] = np.maximum(np.round(base[odd] * np.exp(rng.normal(0.0, 2.0, odd.sum())), 3), 0.001)
    price[rng.random(n) < dirt.zero_price_lines] = 0.0
    lines.quantity = quantity.astype(np.int32)
    lines.price = price
    lines.extreme = extreme
