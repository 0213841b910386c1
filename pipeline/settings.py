"""Paths and tunables, read from environment variables with defaults that work out of the box.

Everything the pipeline writes lives under DATA_DIR (default ``./data``):

    landing/                  incoming transaction files (new_customers/ holds rows to score)
    warehouse.duckdb          the pipeline's working database (one writer at a time)
    mlflow/                   MLflow tracking store and artifacts
    exports/                  CSV and Parquet segment files
    bi/customer_intel.duckdb  the published snapshot BI tools read
    demo/                     the demo generator's side files (latent truth per customer)
    quality/                  data-quality validation results
    cache/decay_features/     the decay check's customer features of the next cutoffs

This module has no Dagster import so the domain core and the CLI can use it too.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

# Stock codes that are not products in the UCI Online Retail data (postage, discounts,
# manual adjustments, bank and marketplace fees, carriage, samples, test lines).
DEFAULT_NON_PRODUCT_CODES: tuple[str, ...] = (
    "POST",
    "DOT",
    "D",
    "M",
    "C2",
    "CRUK",
    "S",
    "B",
    "PADS",
    "BANK CHARGES",
    "AMAZONFEE",
    "ADJUST",
    "TEST001",
    "TEST002",
)


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else default


def _env_number(name: str, default, kind=int):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return kind(value)
    except ValueError as error:
        what = "an integer" if kind is int else "a number"
        raise ValueError(f"environment variable {name} must be {what}, got {value!r}") from error


def _env_int(name: str, default: int) -> int:
    return _env_number(name, default, int)


def _env_float(name: str, default: float) -> float:
    return _env_number(name, default, float)


def _env_date(name: str) -> dt.date | None:
    value = os.environ.get(name)
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as error:
        raise ValueError(
            f"environment variable {name} must be a date YYYY-MM-DD, got {value!r}"
        ) from error


@dataclass(frozen=True)
class Settings:
    """Resolved configuration. Build it with :meth:`from_env`."""

    data_dir: Path
    # Transactions later than this many days after the run are treated as bad dates.
    future_tolerance_days: int = 1
    non_product_codes: tuple[str, ...] = field(default=DEFAULT_NON_PRODUCT_CODES)
    # Snapshot date of the customer features; None: the day after the last purchase.
    as_of: dt.date | None = None
    # Prediction horizon of the models, and how far before the snapshot the training
    # cutoff lies (features up to the cutoff, labels from the horizon after it).
    horizon_days: int = 90
    # Nightly refresh: cron expression and the timezone it is read in.
    refresh_cron: str = "0 2 * * *"
    timezone: str = "UTC"
    # Model training: weekly by default, and when a champion decays by more than the
    # tolerance (relative Brier score on the latest complete horizon vs its validation).
    retrain_cron: str = "0 3 * * 0"
    decay_tolerance: float = 0.10
    # What consumers read (marts, exports, BI snapshot) is overdue after this many hours.
    freshness_hours: float = 26.0
    # DuckDB limits; empty means DuckDB's own default.
    duckdb_memory_limit: str = ""
    duckdb_threads: int = 0
    # Customer history: snapshots older than this many days before the newest are deleted
    # (0 keeps every one); the first date a snapshot can be taken for; when a snapshot of
    # the current date is taken on its own (weekly by default), and after every refresh.
    history_retention_days: int = 730
    history_start_date: dt.date = dt.date(2009, 12, 1)
    history_snapshot_cron: str = "0 4 * * 0"
    history_after_refresh: bool = True
    # The running Dagster instance (webserver): the dashboard starts refreshes through its
    # GraphQL API, and alerts link to its runs.
    dagster_url: str = "http://127.0.0.1:3000"
    # Largest file the dashboard accepts as an upload, in megabytes.
    upload_max_mb: int = 200

    @classmethod
    def from_env(cls) -> Settings:
        data_dir = _env_path("DATA_DIR", Path("data")).resolve()
        return cls(
            data_dir=data_dir,
            future_tolerance_days=_env_int("FUTURE_TOLERANCE_DAYS", 1),
            as_of=_env_date("AS_OF_DATE"),
            horizon_days=_env_int("HORIZON_DAYS", 90),
            refresh_cron=os.environ.get("REFRESH_CRON", "0 2 * * *"),
            timezone=os.environ.get("PIPELINE_TIMEZONE", "UTC"),
            retrain_cron=os.environ.get("RETRAIN_CRON", "0 3 * * 0"),
            decay_tolerance=_env_float("DECAY_TOLERANCE", 0.10),
            freshness_hours=_env_float("FRESHNESS_HOURS", 26.0),
            duckdb_memory_limit=os.environ.get("DUCKDB_MEMORY_LIMIT", ""),
            duckdb_threads=_env_int("DUCKDB_THREADS", 0),
            history_retention_days=_env_int("HISTORY_RETENTION_DAYS", 730),
            history_start_date=_env_date("HISTORY_START_DATE") or dt.date(2009, 12, 1),
            history_snapshot_cron=os.environ.get("HISTORY_SNAPSHOT_CRON", "0 4 * * 0"),
            history_after_refresh=os.environ.get("HISTORY_AFTER_REFRESH", "true").strip().lower()
            not in ("0", "false", "no", "off"),
            dagster_url=os.environ.get("DAGSTER_UI_URL") or "http://127.0.0.1:3000",
            upload_max_mb=_env_int("UPLOAD_MAX_MB", 200),
        )

    @property
    def product_categories_path(self) -> Path:
        """Optional user mapping stock_code,category that overrides the keyword rules."""
        return self.data_dir / "product_categories.csv"

    @property
    def action_rules_path(self) -> Path:
        """The marketer's copy of the action rules, if any (else the shipped defaults)."""
        return self.data_dir / "action_rules.yaml"

    @property
    def landing_dir(self) -> Path:
        return self.data_dir / "landing"

    @property
    def new_customers_dir(self) -> Path:
        return self.landing_dir / "new_customers"

    @property
    def warehouse_path(self) -> Path:
        return self.data_dir / "warehouse.duckdb"

    @property
    def mlflow_dir(self) -> Path:
        return self.data_dir / "mlflow"

    @property
    def decay_features_dir(self) -> Path:
        """The decay check's customer features of the next cutoffs
        (pipeline/modelling/decay_features.py)."""
        return self.data_dir / "cache" / "decay_features"

    @property
    def exports_dir(self) -> Path:
        return self.data_dir / "exports"

    @property
    def bi_snapshot_path(self) -> Path:
        return self.data_dir / "bi" / "customer_intel.duckdb"

    @property
    def demo_dir(self) -> Path:
        return self.data_dir / "demo"

    @property
    def quality_dir(self) -> Path:
        return self.data_dir / "quality"

    @property
    def mappings_path(self) -> Path:
        """User-supplied column mappings for layouts the built-in aliases do not cover."""
        return _env_path("COLUMN_MAPPINGS", self.data_dir / "column_mappings.yaml")
