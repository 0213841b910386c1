"""The latent truth table: one row per customer with a CustomerID, in id order."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.demo.catalogue import CATEGORIES
from pipeline.demo.population import COUNTRIES
from pipeline.demo.simulation import Chunk

TRUTH_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "country",
    "acquisition_ts",
    "purchase_rate_per_year",
    "dropout_prob",
    "dropout_ts",
    "alive_at_end",
    "is_bulk",
    "is_anomalous",
    "mean_lines_per_order",
    "preferred_categories",
    "category_preferences",
    "n_orders_observed",
    "spend_observed",
    "future_orders",
    "future_spend",
    "purchased_in_horizon",
    "future_categories",
)


def epoch_minute(day: date) -> int:
    """Minutes from 1970-01-01 to midnight starting ``day``."""
    return int((np.datetime64(day, "m") - np.datetime64(0, "m")).astype(np.int64))


def timestamps(epoch_min: int, minutes: np.ndarray) -> pa.Array:
    """Microsecond timestamps from minutes after ``epoch_min`` (minutes since 1970)."""
    return pa.array((epoch_min + minutes) * 60_000_000, pa.int64()).cast(pa.timestamp("us"))


def _category_strings(codes: np.ndarray, decode: Callable[[int], str]) -> pa.Array:
    """Strings for integer codes, computing each distinct code once."""
    unique, inverse = np.unique(codes, return_inverse=True)
    return pc.take(pa.array([decode(int(u)) for u in unique], pa.string()), pa.array(inverse))


def _top3(code: int) -> str:
    return ",".join(CATEGORIES[(code // 12**i) % 12] for i in (2, 1, 0))


def _mask_categories(mask: int) -> str:
    return ",".join(name for bit, name in enumerate(CATEGORIES) if mask >> bit & 1)


def truth_table(
    chunks: list[Chunk], owner_cid: list[np.ndarray], epoch_min: int, cutoff_min: int
) -> pa.Table:
    """The truth of every customer that got a CustomerID (see TRUTH_COLUMNS)."""
    ids_per_chunk = [cid[: ch.n_registered] for ch, cid in zip(chunks, owner_cid, strict=True)]
    t = {
        name: np.concatenate(
            [ch.truth[name][ids >= 0] for ch, ids in zip(chunks, ids_per_chunk, strict=True)]
        )
        for name in chunks[0].truth
    }
    ids = np.concatenate([ids[ids >= 0] for ids in ids_per_chunk])
    pref = t["preference"]
    top = np.argsort(-pref, axis=1, kind="stable")[:, :3].astype(np.int64)
    dropout = t["dropout_min"]
    future_orders = t["future_orders"].astype(np.int32)
    return pa.table(
        {
            "customer_id": pc.cast(pa.array(ids), pa.string()),
            "country": pc.take(pa.array(COUNTRIES), pa.array(t["country"])),
            "acquisition_ts": timestamps(epoch_min, t["acquisition_min"]),
            "purchase_rate_per_year": pa.array(t["purchase_rate_per_year"]),
            "dropout_prob": pa.array(t["dropout_prob"]),
            "dropout_ts": pa.array(
                (epoch_min + dropout) * 60_000_000, pa.int64(), mask=dropout < 0
            ).cast(pa.timestamp("us")),
            "alive_at_end": pa.array((dropout < 0) | (dropout >= cutoff_min)),
            "is_bulk": pa.array(t["is_bulk"]),
            "is_anomalous": pa.array(t["is_anomalous"]),
            "mean_lines_per_order": pa.array(t["mean_lines_per_order"]),
            "preferred_categories": _category_strings(
                top[:, 0] * 144 + top[:, 1] * 12 + top[:, 2], _top3
            ),
            "category_preferences": pa.ListArray.from_arrays(
                pa.array(np.arange(len(pref) + 1, dtype=np.int32) * len(CATEGORIES)),
                pa.array(pref.ravel()),
            ),
            "n_orders_observed": pa.array(t["n_orders_observed"].astype(np.int32)),
            "spend_observed": pa.array(np.round(t["spend_observed"], 2)),
            "future_orders": pa.array(future_orders),
            "future_spend": pa.array(np.round(t["future_spend"], 2)),
            "purchased_in_horizon": pa.array(future_orders > 0),
            "future_categories": _category_strings(t["future_mask"], _mask_categories),
        }
    )
