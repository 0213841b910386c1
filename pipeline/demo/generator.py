"""The generator's entry point: validate the arguments, simulate chunks until the rows fit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa

from pipeline.demo.assembly import assemble_transactions, trim
from pipeline.demo.catalogue import build_catalogue
from pipeline.demo.parameters import (
    DEFAULT_END_DATE,
    DEFAULT_HORIZON_DAYS,
    DEFAULT_START_DATE,
    FIRST_CUSTOMER_ID,
    MAX_CHUNK_CUSTOMERS,
    Behaviour,
    DirtRates,
)
from pipeline.demo.scenarios import DEFAULT_SCENARIO, Scenario, resolve_scenario
from pipeline.demo.simulation import Chunk, simulate_chunk
from pipeline.demo.trading_calendar import TradingCalendar
from pipeline.demo.truth import epoch_minute, truth_table

_PRIOR_ROWS_PER_CUSTOMER = 140.0  # first guess of written rows per registered customer


@dataclass(frozen=True)
class DemoData:
    """Generated data: the transactions as written, the truth per customer, the catalogue."""

    transactions: pa.Table  # the scenario's UCI columns; InvoiceDate timestamp[us], CustomerID
    # int32 (nulls)
    truth: pa.Table  # one row per customer with a CustomerID (see TRUTH_COLUMNS)
    catalogue: pa.Table  # stock_code, description, category, base_price
    seed: int
    start_date: date
    end_date: date  # last day written (inclusive)
    horizon_days: int
    n_invoices: int
    scenario: str = DEFAULT_SCENARIO

    @property
    def observation_end(self) -> datetime:
        """Exclusive end of the written period: midnight after ``end_date``."""
        return datetime.combine(self.end_date + timedelta(days=1), datetime.min.time())

    @property
    def horizon_end(self) -> datetime:
        """Exclusive end of the holdout window the truth's ``future_*`` columns cover."""
        return self.observation_end + timedelta(days=self.horizon_days)


def _as_date(value: date | datetime | str, name: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as error:
        raise ValueError(f"{name} must be a date like 2011-12-09, got {value!r}") from error


def _period(
    n_rows: int, seed: int, start_date: Any, end_date: Any, horizon_days: int, chunks: int
) -> tuple[date, date]:
    """The validated period, after checking the other arguments."""
    if isinstance(n_rows, bool) or not isinstance(n_rows, int | np.integer) or n_rows < 1:
        raise ValueError(f"n_rows must be a positive integer, got {n_rows!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if horizon_days < 0:
        raise ValueError("horizon_days must be >= 0")
    if chunks < 1:
        raise ValueError("chunk_customers must be >= 1")
    start = _as_date(start_date, "start_date")
    end = _as_date(end_date, "end_date")
    if end <= start:
        raise ValueError(f"end_date {end} must be after start_date {start}")
    return start, end


def progress_bar(n_rows: int) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=n_rows, unit="rows", unit_scale=True, desc="demo data: simulating")


def generate_transactions(
    n_rows: int,
    seed: int = 42,
    *,
    start_date: date | str = DEFAULT_START_DATE,
    end_date: date | str = DEFAULT_END_DATE,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    dirt: DirtRates | None = None,
    behaviour: Behaviour | None = None,
    chunk_customers: int = MAX_CHUNK_CUSTOMERS,
    progress: bool = False,
    bar: Any = None,
    scenario: str = DEFAULT_SCENARIO,
) -> DemoData:
    """Generate about ``n_rows`` transaction rows (within a fraction of a percent for
    n_rows in the thousands and more) with the latent truth of every customer.

    ``end_date`` is the last day written (inclusive); ``horizon_days`` the holdout window
    after it that the truth's ``future_*`` columns describe. Customers are simulated in
    chunks of at most ``chunk_customers`` (a tqdm bar follows them when ``progress``, or
    the caller's ``bar``, which it keeps open); the output depends on
    ``(n_rows, seed, scenario, parameters)`` only. ``scenario`` picks the behaviour,
    dirt and columns (pipeline.demo.scenarios); ``dirt`` and ``behaviour`` replace its own.
    """
    start, end = _period(n_rows, seed, start_date, end_date, horizon_days, chunk_customers)
    chosen = resolve_scenario(scenario, behaviour, dirt)
    own_bar = progress_bar(n_rows) if progress and bar is None else None
    try:
        return _generate(
            int(n_rows),
            int(seed),
            start,
            end,
            horizon_days,
            chosen,
            chunk_customers,
            bar if bar is not None else own_bar,
        )
    finally:
        if own_bar is not None:
            own_bar.close()


def _generate(
    n_rows: int,
    seed: int,
    start: date,
    end: date,
    horizon_days: int,
    chosen: Scenario,
    chunk_customers: int,
    bar: Any,
) -> DemoData:
    dirt, beh = chosen.dirt, chosen.behaviour
    cal = TradingCalendar(start, end, horizon_days, beh.seasonality)
    cat = build_catalogue(
        np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0,))), beh.n_products
    )
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2,)))
    n_bad_debt = round(n_rows * dirt.bad_debt_rows)
    if dirt.bad_debt_rows > 0 and n_rows >= 1000:
        n_bad_debt = max(n_bad_debt, 1)
    target = max(1, round(n_rows / (1.0 + dirt.duplicate_lines)) - n_bad_debt)
    chunks, owner_cid = _simulate_chunks(
        seed, target, n_rows, cal, cat, beh, dirt, chunk_customers, bar
    )
    if bar is not None:
        bar.update(max(n_rows - bar.n, 0))
        bar.set_description("demo data: assembling")
    transactions, n_invoices = assemble_transactions(
        chunks, owner_cid, cal, cat, rng, n_bad_debt, dirt, start
    )
    truth = truth_table(chunks, owner_cid, epoch_minute(start), cal.cutoff_min)
    return DemoData(
        transactions=transactions.select(list(chosen.columns)),
        truth=truth.replace_schema_metadata({"scenario": chosen.name}),
        catalogue=cat.table(),
        seed=seed,
        start_date=start,
        end_date=end,
        horizon_days=horizon_days,
        n_invoices=n_invoices,
        scenario=chosen.name,
    )


def _simulate_chunks(
    seed: int,
    target: int,
    n_rows: int,
    cal: TradingCalendar,
    cat: Any,
    beh: Behaviour,
    dirt: DirtRates,
    chunk_customers: int,
    bar: Any,
) -> tuple[list[Chunk], list[np.ndarray]]:
    """Chunks of customers until ``target`` rows, the last one trimmed to fit, with ids."""
    chunks: list[Chunk] = []
    owner_cid: list[np.ndarray] = []
    got, n_customers, simulated, rows_per_customer = 0, 0, 0, _PRIOR_ROWS_PER_CUSTOMER
    while got < target:
        remaining = target - got
        size = int(min(chunk_customers, np.ceil(remaining / rows_per_customer * 1.05) + 8))
        chunk_rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1, len(chunks))))
        chunk = simulate_chunk(chunk_rng, size, cal, cat, beh, dirt)
        rows = int(chunk.rows_per_owner.sum())
        simulated += size
        rows_per_customer = max((got + rows) / simulated, 1.0)
        if rows > remaining:
            chunk = chunk.keep(trim(chunk_rng, chunk, remaining))
            rows = int(chunk.rows_per_owner.sum())
            got = target  # stop here, whether a little under or not
        else:
            got += rows
        cid = np.full(len(chunk.rows_per_owner), -1, np.int64)
        customers = np.flatnonzero(chunk.rows_per_owner[: chunk.n_registered] > 0)
        cid[customers] = FIRST_CUSTOMER_ID + n_customers + np.arange(len(customers))
        n_customers += len(customers)
        chunks.append(chunk)
        owner_cid.append(cid)
        if bar is not None:
            bar.update(min(rows, n_rows - bar.n))
    return chunks, owner_cid
