"""The customer features of the decay check's cutoff, computed a week ahead and kept.

The decay check (:mod:`pipeline.modelling.decay`) needs every customer's features as of the
latest complete horizon's cutoff (the snapshot minus the horizon), a query over every line
before it. The cutoff moves one day a night, and nothing before it changes when a new day
arrives. So the features are computed in one pass for the cutoff and the days after it
(:func:`pipeline.features.customer_rfm.write_features_at`, equal bit for bit to the
one-date query, ``tests/test_feature_windows.py``) and written to
``DATA_DIR/cache/decay_features/``; the next nights read their cutoff's rows from there as
long as what they were computed from is unchanged: the purchase and return lines before the
last kept cutoff (row counts and hash sums of whole rows), the product categories' stock
codes and categories, and the feature SQL itself. Anything else (a restated file, other
categories, new code, a cutoff not kept, a missing file) computes them again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from pathlib import Path

import duckdb
import pandas as pd

from pipeline.features import customer_features_at, ensure_product_categories_table
from pipeline.features import customer_rfm as feature_sql
from pipeline.features.customer_rfm import write_features_at
from pipeline.sql_files import SqlFiles

SQL = SqlFiles(__package__)
DECAY_INPUTS_SQL = SQL.read("decay_inputs.sql")
DAYS_AHEAD = 7  # cutoffs kept per computation: a week of nights
MANIFEST = "manifest.json"


def _code_version() -> str:
    """A hash of the SQL the kept features come from: other SQL, other features."""
    texts = [
        text
        for parts in (
            feature_sql.CUTOFF_PARTS,
            feature_sql.CUTOFF_VIEWS,
            feature_sql.CUTOFF_FEATURE_PARTS,
            feature_sql.FEATURE_PARTS,
        )
        for _, text in parts
    ]
    texts += [feature_sql.CUTOFF_FEATURES_SQL, feature_sql.CUSTOMER_FEATURES_SQL]
    return hashlib.sha256("\n;\n".join(texts).encode()).hexdigest()


def inputs_fingerprint(connection: duckdb.DuckDBPyConnection, until: dt.datetime) -> list[str]:
    """What the customer features as of any date up to ``until`` are computed from."""
    ensure_product_categories_table(connection)
    return [
        str(value) for value in connection.execute(DECAY_INPUTS_SQL, {"until": until}).fetchone()
    ]


def _manifest(folder: Path) -> dict | None:
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def _kept(connection: duckdb.DuckDBPyConnection, folder: Path, cutoff: dt.datetime) -> Path | None:
    """The kept file that holds ``cutoff``'s features computed from today's inputs."""
    manifest = _manifest(folder)
    if manifest is None or manifest.get("code") != _code_version():
        return None
    cutoffs = manifest.get("cutoffs") or []
    if cutoff.isoformat() not in cutoffs:
        return None
    latest = max(dt.datetime.fromisoformat(c) for c in cutoffs)
    if manifest.get("inputs") != inputs_fingerprint(connection, latest):
        return None
    path = folder / str(manifest.get("file", ""))
    return path if path.is_file() else None


def _read(connection: duckdb.DuckDBPyConnection, path: Path, cutoff: dt.datetime) -> pd.DataFrame:
    return connection.execute(
        "SELECT * FROM read_parquet($path) WHERE as_of = $cutoff ORDER BY customer_id",
        {"path": str(path), "cutoff": cutoff},
    ).df()


def _keep(connection: duckdb.DuckDBPyConnection, folder: Path, cutoffs: list[dt.datetime]) -> Path:
    """Compute the features of ``cutoffs`` in one pass and keep them with their manifest;
    the manifest is replaced last, so a failure leaves the previous pair or none usable."""
    folder.mkdir(parents=True, exist_ok=True)
    inputs = inputs_fingerprint(connection, max(cutoffs))
    names = [c.isoformat() for c in cutoffs]
    key = hashlib.sha256(json.dumps([names, inputs, _code_version()]).encode()).hexdigest()[:16]
    path = folder / f"features_{key}.parquet"
    write_features_at(connection, cutoffs, path)
    manifest = {"code": _code_version(), "cutoffs": names, "inputs": inputs, "file": path.name}
    written = folder / f"{MANIFEST}.writing"
    written.write_text(json.dumps(manifest))
    os.replace(written, folder / MANIFEST)
    for stale in folder.glob("features_*.parquet"):
        if stale != path:
            stale.unlink(missing_ok=True)
    return path


def features_at_cutoff(
    connection: duckdb.DuckDBPyConnection,
    cutoff: dt.datetime,
    latest: dt.datetime,
    folder: Path | None,
) -> pd.DataFrame:
    """Customer features as of ``cutoff`` (the rows of
    :func:`pipeline.features.customer_features`), read from ``folder`` when kept there from
    the same inputs, else computed with the next days' up to ``latest`` (the snapshot) and
    kept. ``folder`` None: computed, nothing kept."""
    if folder is None:
        return customer_features_at(connection, [cutoff])
    path = _kept(connection, folder, cutoff)
    if path is None:
        days = max(1, min(DAYS_AHEAD, (latest - cutoff).days + 1))
        path = _keep(connection, folder, [cutoff + dt.timedelta(days=d) for d in range(days)])
    return _read(connection, path, cutoff)
