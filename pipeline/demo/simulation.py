"""Simulation of one chunk of customers: their orders, lines, dirt, written rows and truth."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.demo.baskets import Lines, draw_lines, price_lines
from pipeline.demo.catalogue import Catalogue
from pipeline.demo.dirt import NonProductLines, Returns, cancellations, non_product_lines
from pipeline.demo.parameters import Behaviour, DirtRates
from pipeline.demo.population import (
    Customers,
    Orders,
    add_guest_orders,
    customer_orders,
    draw_customers,
)
from pipeline.demo.trading_calendar import TradingCalendar


@dataclass
class Chunk:
    """Written rows of one chunk of customers, its invoices, and its customers' truth."""

    n_registered: int  # owners [0, n_registered) are customers, the rest are guest orders
    owner_country: np.ndarray
    rows_per_owner: np.ndarray
    # Rows (only those written); ``event`` indexes the chunk's events.
    event: np.ndarray
    product: np.ndarray
    quantity: np.ndarray
    price: np.ndarray
    owner: np.ndarray
    # Events (invoices): calendar minute and kind (0 purchase, 1 cancellation).
    event_minute: np.ndarray
    event_kind: np.ndarray
    # Truth of the registered customers.
    truth: dict[str, np.ndarray]

    def keep(self, keep_owner: np.ndarray) -> Chunk:
        rows = keep_owner[self.owner]
        return Chunk(
            n_registered=self.n_registered,
            owner_country=self.owner_country,
            rows_per_owner=np.where(keep_owner, self.rows_per_owner, 0),
            event=self.event[rows],
            product=self.product[rows],
            quantity=self.quantity[rows],
            price=self.price[rows],
            owner=self.owner[rows],
            event_minute=self.event_minute,
            event_kind=self.event_kind,
            truth=self.truth,
        )


@dataclass(frozen=True)
class _Rows:
    """Every row of the chunk, written or not: purchases, returns, then non-product lines."""

    event: np.ndarray
    product: np.ndarray
    quantity: np.ndarray
    price: np.ndarray
    owner: np.ndarray
    minute: np.ndarray
    is_product: np.ndarray


def simulate_chunk(
    rng: np.random.Generator,
    n_customers: int,
    cal: TradingCalendar,
    cat: Catalogue,
    beh: Behaviour,
    dirt: DirtRates,
) -> Chunk:
    customers = draw_customers(rng, n_customers, cal, beh)
    registered, dropout_u = customer_orders(rng, customers, cal)
    owners, orders = add_guest_orders(rng, customers, registered, cal, beh, dirt)
    lines = draw_lines(rng, orders, owners, cal, cat)
    price_lines(rng, lines, orders, owners, cat, dirt, beh.monster_line_rate)
    returns = cancellations(rng, orders, lines, dirt)
    first_np_event = len(orders) + len(returns.event_u)
    extra = non_product_lines(rng, orders, owners, cal, dirt, first_np_event)
    event_u_extra = np.concatenate((returns.event_u, extra.event_u))
    event_minute = np.concatenate((orders.minute, cal.to_minutes(event_u_extra)))
    event_kind = np.concatenate(
        (np.zeros(len(orders), np.int8), np.ones(len(event_u_extra), np.int8))
    )
    rows = _rows(orders, lines, returns, extra, event_minute, cat)
    written = rows.minute < cal.cutoff_min
    dropout_min = np.where(customers.drops, cal.to_minutes(dropout_u), -1)
    truth = _chunk_truth(customers, orders, lines, rows, written, dropout_min, cal)
    return Chunk(
        n_registered=n_customers,
        owner_country=owners.country,
        rows_per_owner=np.bincount(rows.owner[written], minlength=len(owners.country)),
        event=rows.event[written],
        product=rows.product[written],
        quantity=rows.quantity[written].astype(np.int32),
        price=rows.price[written],
        owner=rows.owner[written].astype(np.int32),
        event_minute=event_minute,
        event_kind=event_kind,
        truth=truth,
    )


def _rows(
    orders: Orders,
    lines: Lines,
    returns: Returns,
    extra: NonProductLines,
    event_minute: np.ndarray,
    cat: Catalogue,
) -> _Rows:
    kept = np.flatnonzero(lines.keep)
    event = np.concatenate((lines.order[kept], returns.event, extra.event))
    product = np.concatenate(
        (lines.product[kept], lines.product[returns.line], cat.n_products + extra.kind)
    ).astype(np.int32)
    return _Rows(
        event=event,
        product=product,
        quantity=np.concatenate((lines.quantity[kept], -returns.quantity, extra.quantity)),
        price=np.concatenate((lines.price[kept], lines.price[returns.line], extra.price)),
        owner=np.concatenate(
            (lines.owner[kept], lines.owner[returns.line], orders.owner[extra.order])
        ),
        minute=event_minute[event],
        is_product=np.arange(len(event)) < len(kept) + len(returns.line),
    )


def _chunk_truth(
    customers: Customers,
    orders: Orders,
    lines: Lines,
    rows: _Rows,
    written: np.ndarray,
    dropout_min: np.ndarray,
    cal: TradingCalendar,
) -> dict[str, np.ndarray]:
    """Latent parameters and observed / horizon outcomes of the chunk's registered customers."""
    c = len(customers)
    registered = rows.owner < c
    in_horizon = ~written & (rows.minute < cal.end_min)
    amount = rows.quantity.astype(np.float64) * rows.price

    def per_customer(mask: np.ndarray) -> np.ndarray:
        return np.bincount(rows.owner[mask], weights=amount[mask], minlength=c)[:c]

    reg_orders = orders.owner < c
    order_observed = orders.minute < cal.cutoff_min
    future_line = (lines.owner < c) & lines.keep & (orders.minute[lines.order] >= cal.cutoff_min)
    pair = np.unique(lines.owner[future_line].astype(np.int64) * 16 + lines.category[future_line])
    future_mask = np.bincount(pair // 16, weights=2.0 ** (pair % 16), minlength=c)[:c]
    return {
        "country": customers.country,
        "acquisition_min": orders.minute[:c],
        "purchase_rate_per_year": customers.rate_per_year,
        "dropout_prob": customers.dropout_prob,
        "dropout_min": dropout_min,
        "is_bulk": customers.bulk,
        "is_anomalous": customers.anomalous,
        "mean_lines_per_order": 1.0 + customers.extra_lines,
        "preference": customers.preference.astype(np.float32),
        "n_orders_observed": np.bincount(orders.owner[reg_orders & order_observed], minlength=c),
        "spend_observed": per_customer(registered & written & rows.is_product),
        "future_orders": np.bincount(orders.owner[reg_orders & ~order_observed], minlength=c),
        "future_spend": per_customer(registered & in_horizon & rows.is_product),
        "future_mask": future_mask.astype(np.int64),
    }
