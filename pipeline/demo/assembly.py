"""From simulated chunks to the transactions table: trimming, invoice numbers, duplicates."""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.demo.catalogue import Catalogue
from pipeline.demo.parameters import FIRST_INVOICE_NO, DirtRates
from pipeline.demo.population import COUNTRIES
from pipeline.demo.simulation import Chunk
from pipeline.demo.trading_calendar import TradingCalendar
from pipeline.demo.truth import epoch_minute, timestamps


def trim(rng: np.random.Generator, chunk: Chunk, room: int) -> np.ndarray:
    """Owners to keep from the last chunk: customers and guest orders in their proportions."""
    customers = chunk.rows_per_owner[: chunk.n_registered]
    guests = chunk.rows_per_owner[chunk.n_registered :]
    guest_room = round(room * guests.sum() / max(customers.sum() + guests.sum(), 1))
    return np.concatenate(
        (_fill(rng, customers, room - guest_room), _fill(rng, guests, guest_room))
    )


def _fill(rng: np.random.Generator, rows_per_owner: np.ndarray, room: int) -> np.ndarray:
    """Which owners (customers or guest orders) to keep so their rows just fit in ``room``.

    Whole owners in random order while they fit, then the later ones that still fit the gap,
    so the row count lands just under the target rather than one big customer over it.
    """
    order = rng.permutation(len(rows_per_owner))
    rows = rows_per_owner[order]
    cum = np.cumsum(rows)
    n_fit = int(np.searchsorted(cum, room, side="right"))
    take = np.zeros(len(order), bool)
    take[:n_fit] = True
    gap = room - (int(cum[n_fit - 1]) if n_fit else 0)
    rest = np.arange(n_fit, len(order))
    small = rest[(rows[rest] <= gap) & (rows[rest] > 0)]
    take[small[np.cumsum(rows[small]) <= gap]] = True
    if room > 0 and rows.any() and not take.any():  # nothing fits: the smallest owner
        take[np.argmin(np.where(rows > 0, rows, np.iinfo(np.int64).max))] = True
    keep = np.zeros(len(order), bool)
    keep[order[take]] = True
    return keep


def _invoice_numbers(
    rng: np.random.Generator, event_minute: np.ndarray, event_kind: np.ndarray, used: np.ndarray
) -> tuple[pa.Array, np.ndarray]:
    """Invoice numbers that follow time (purchases before cancellations in the same minute).

    Returns the numbers in rank order and each event's rank. Numbers have 6 digits from UCI's
    first number, or lower when there are many (7 beyond 900,000 invoices).
    """
    used_idx = np.flatnonzero(used)
    order = np.lexsort((rng.random(len(used_idx)), event_kind[used_idx], event_minute[used_idx]))
    rank = np.empty(len(event_minute), np.int64)
    rank[used_idx[order]] = np.arange(len(used_idx))
    n_invoices = len(used_idx)
    first_no = max(100_000, min(FIRST_INVOICE_NO, 1_000_000 - n_invoices))
    invoice_kind = event_kind[used_idx[order]]
    invoice_no = pc.binary_join_element_wise(
        pc.take(pa.array(["", "C", "A"]), pa.array(invoice_kind)),
        pc.cast(pa.array(first_no + np.arange(n_invoices)), pa.string()),
        "",
    )
    return invoice_no, rank


def assemble_transactions(
    chunks: list[Chunk],
    owner_cid: list[np.ndarray],
    cal: TradingCalendar,
    cat: Catalogue,
    rng: np.random.Generator,
    n_bad_debt: int,
    dirt: DirtRates,
    start: date,
) -> tuple[pa.Table, int]:
    """The written rows of every chunk plus the bad-debt rows, in invoice order."""
    event_offset = np.cumsum([0] + [len(ch.event_minute) for ch in chunks])
    n_events = int(event_offset[-1])
    bad_minute = cal.to_minutes(rng.uniform(0.0, cal.u_obs, n_bad_debt))
    event_minute = np.concatenate([ch.event_minute for ch in chunks] + [bad_minute])
    event_kind = np.concatenate(
        [ch.event_kind for ch in chunks] + [np.full(n_bad_debt, 2, np.int8)]
    )
    row_event = np.concatenate(
        [ch.event + off for ch, off in zip(chunks, event_offset[:-1], strict=True)]
        + [n_events + np.arange(n_bad_debt)]
    )
    product = np.concatenate(
        [ch.product for ch in chunks] + [np.full(n_bad_debt, len(cat.codes) - 1, np.int32)]
    )
    quantity = np.concatenate([ch.quantity for ch in chunks] + [np.ones(n_bad_debt, np.int32)])
    bad_price = -np.round(np.exp(rng.uniform(np.log(1000), np.log(20000), n_bad_debt)), 2)
    price = np.concatenate([ch.price for ch in chunks] + [bad_price])
    customer = np.concatenate(
        [cid[ch.owner] for ch, cid in zip(chunks, owner_cid, strict=True)]
        + [np.full(n_bad_debt, -1, np.int64)]
    )
    country = np.concatenate(
        [ch.owner_country[ch.owner] for ch in chunks] + [np.zeros(n_bad_debt, np.int8)]
    )
    used = np.zeros(len(event_minute), bool)
    used[row_event] = True
    invoice_no, rank = _invoice_numbers(rng, event_minute, event_kind, used)
    # Rows in invoice order, lines in their generated order; duplicates next to the original.
    row_rank = rank[row_event]
    row_order = np.argsort((row_rank << 32) | np.arange(len(row_rank)))
    n = len(row_order)
    dup = rng.choice(n, size=rng.binomial(n, dirt.duplicate_lines), replace=False)
    row_order = row_order[np.sort(np.concatenate((np.arange(n), dup)))]
    customer = customer[row_order]
    epoch_min = epoch_minute(start)
    transactions = pa.table(
        {
            "InvoiceNo": pc.take(invoice_no, pa.array(row_rank[row_order])),
            "StockCode": pc.take(cat.codes, pa.array(product[row_order])),
            "Description": pc.take(cat.descriptions, pa.array(product[row_order])),
            "Quantity": pa.array(quantity[row_order], pa.int32()),
            "InvoiceDate": timestamps(epoch_min, event_minute[row_event[row_order]]),
            "UnitPrice": pa.array(price[row_order], pa.float64()),
            "CustomerID": pa.array(customer, pa.int32(), mask=customer < 0),
            "Country": pc.take(pa.array(COUNTRIES), pa.array(country[row_order])),
        }
    )
    return transactions, int(used.sum())
