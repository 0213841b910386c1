"""Dirt on top of the purchases: cancellations ("C" invoices) and non-product lines."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.demo.baskets import Lines
from pipeline.demo.catalogue import (
    AMAZON,
    BANK,
    CARRIAGE,
    DISCOUNT,
    DOT,
    MANUAL,
    NON_PRODUCT_LINES,
    POST,
)
from pipeline.demo.parameters import DirtRates
from pipeline.demo.population import Orders, Owners
from pipeline.demo.sampling import largest_remainder
from pipeline.demo.trading_calendar import TradingCalendar

# Unit prices of the non-product lines (in NON_PRODUCT_LINES order): log-uniform in bounds.
_NON_PRODUCT_PRICE = {
    POST: (18.0, 18.0),
    DOT: (10.0, 1500.0),
    MANUAL: (0.5, 500.0),
    DISCOUNT: (2.0, 150.0),
    CARRIAGE: (50.0, 50.0),
    BANK: (15.0, 15.0),
    AMAZON: (100.0, 8000.0),
}


@dataclass(frozen=True)
class Returns:
    """Lines taken back on cancellation invoices, numbered after the purchase orders."""

    event_u: np.ndarray  # operational time of each cancellation invoice
    line: np.ndarray  # the purchase line each row takes back
    event: np.ndarray  # the cancellation invoice of each row
    quantity: np.ndarray  # units taken back (positive)


@dataclass(frozen=True)
class NonProductLines:
    """POST, DOT, M, D, ... lines: on their order, or on a cancellation invoice if negative."""

    kind: np.ndarray  # index into NON_PRODUCT_LINES
    order: np.ndarray
    quantity: np.ndarray
    price: np.ndarray
    event: np.ndarray
    event_u: np.ndarray  # operational time of the negative lines' invoices


def cancellations(
    rng: np.random.Generator, orders: Orders, lines: Lines, dirt: DirtRates
) -> Returns:
    """A few lines of a share of orders, and most monster lines within minutes.

    As in UCI, a cancellation invoice is small: it takes back 1 + Poisson(
    ``cancelled_lines_extra``) of the order's lines, the largest amounts first (what a buyer
    calls back is the big item), a quarter of them only in part.
    """
    n_orders, n_lines = len(orders), len(lines)
    cancelled = rng.random(n_orders) < dirt.cancelled_orders
    cancelled_orders = np.flatnonzero(cancelled)
    cancel_event = np.full(n_orders, -1, np.int64)
    cancel_event[cancelled_orders] = n_orders + np.arange(len(cancelled_orders))
    cancel_u = orders.u[cancelled_orders] + rng.exponential(2.0, len(cancelled_orders))
    back_lines = 1 + rng.poisson(dirt.cancelled_lines_extra, n_orders)
    taken_back = _taken_back(lines, cancelled, back_lines)
    back_qty = lines.quantity[taken_back]
    partial = (rng.random(len(back_qty)) < 0.25) & (back_qty > 1)
    back_qty = np.where(
        partial, np.ceil(back_qty * rng.uniform(0.2, 0.9, len(back_qty))), back_qty
    ).astype(np.int32)
    undone = np.flatnonzero(lines.extreme & lines.keep & (rng.random(n_lines) < 0.7))
    undo_event = n_orders + len(cancelled_orders) + np.arange(len(undone))
    undo_u = orders.u[lines.order[undone]] + rng.exponential(0.03, len(undone))
    back = np.flatnonzero(taken_back)
    return Returns(
        event_u=np.concatenate((cancel_u, undo_u)),
        line=np.concatenate((back, undone)),
        event=np.concatenate((cancel_event[lines.order[back]], undo_event)),
        quantity=np.concatenate((back_qty, lines.quantity[undone])),
    )


def _taken_back(lines: Lines, cancelled: np.ndarray, back_lines: np.ndarray) -> np.ndarray:
    """Lines of cancelled orders among their order's ``back_lines`` largest amounts."""
    candidates = np.flatnonzero(cancelled[lines.order] & lines.keep)
    order = lines.order[candidates]  # ascending: lines are stored order by order
    amount = lines.quantity[candidates] * lines.price[candidates]
    ordering = np.lexsort((-amount, order))
    rank = np.empty(len(candidates), np.int64)
    rank[ordering] = np.arange(len(candidates)) - np.searchsorted(order, order[ordering])
    taken_back = np.zeros(len(lines), bool)
    taken_back[candidates[rank < back_lines[order]]] = True
    return taken_back


def non_product_lines(
    rng: np.random.Generator,
    orders: Orders,
    owners: Owners,
    cal: TradingCalendar,
    dirt: DirtRates,
    first_event: int,
) -> NonProductLines:
    """Non-product lines on observed orders; postage mostly on foreign and guest orders."""
    observed_idx = np.flatnonzero(orders.minute < cal.cutoff_min)
    n_np = rng.binomial(int(orders.n_lines[observed_idx].sum()), dirt.non_product_lines)
    np_weights = np.array([w for _, _, w in NON_PRODUCT_LINES])
    kind = np.repeat(np.arange(len(np_weights)), largest_remainder(n_np, np_weights, True))
    kind = rng.permutation(kind)
    observed_owner = orders.owner[observed_idx]
    guest_orders = observed_idx[observed_owner >= owners.n_registered]
    foreign_orders = observed_idx[owners.country[observed_owner] != 0]
    np_order = observed_idx[rng.integers(0, max(len(observed_idx), 1), n_np)]
    for pool, kinds in ((guest_orders, (DOT, AMAZON)), (foreign_orders, (POST,))):
        if len(pool):
            mask = np.isin(kind, kinds) & (rng.random(n_np) < 0.85)
            np_order[mask] = pool[rng.integers(0, len(pool), mask.sum())]
    np_qty = np.ones(n_np, np.int32)
    np_qty[kind == POST] = rng.choice([1, 2, 3], (kind == POST).sum(), p=[0.7, 0.2, 0.1])
    negative = (
        (kind == DISCOUNT)
        | ((kind == MANUAL) & (rng.random(n_np) < 0.3))
        | ((kind == AMAZON) & (rng.random(n_np) < 0.5))
    )
    np_qty[negative] = -1
    bounds = np.array([[np.log(low), np.log(high)] for low, high in _NON_PRODUCT_PRICE.values()])
    np_price = np.round(np.exp(rng.uniform(bounds[kind, 0], bounds[kind, 1])), 2)
    np_event = np_order.astype(np.int64)
    np_event[negative] = first_event + np.arange(negative.sum())
    neg_u = orders.u[np_order[negative]] + rng.exponential(0.01, negative.sum())
    return NonProductLines(kind, np_order, np_qty, np_price, np_event, neg_u)
