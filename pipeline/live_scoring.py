"""Score new customers with the registered champion models, and log every prediction.

New customers arrive as files in DATA_DIR/landing/new_customers/ (CSV or Parquet), in one of
two shapes:

* **transactions**: the columns of a landing file (customer id, date, amount or quantity and
  price, optionally invoice, product, country). They go through the same ingestion, cleaning
  and feature SQL as the warehouse, in a private in-memory database, as of the later of the
  model snapshot and the day after the file's last transaction.
* **rfm**: ``customer_id, recency_days, frequency, monetary`` (optionally ``tenure_days``
  and any other column of features.customer_rfm). Features the file does not give are the
  median customer's of features.customer_rfm and are listed in the log as imputed.

Each customer is labelled with the champion segment models (value, persona, purchase style
when the file has quantities), scored with the champion churn and propensity models (no
refit) and given an action from the action plan. Every prediction is appended to
marts.prediction_log with its inputs, outputs, the model versions and when it was made. A
customer's input is identified by a hash of the file name and its rows, so re-running over
the same files scores nothing twice; the log is only ever appended to.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pandas as pd

from pipeline.action_rules import ActionPlan, action_case_sql, load_configured_plan
from pipeline.catalog.ddl import create_tables_sql
from pipeline.cleaning import build_staging
from pipeline.features import build_customer_rfm, ensure_product_categories_table
from pipeline.ingest import ensure_raw_schema, ingest_file
from pipeline.ingest.column_mapping import BUILTIN_ALIASES, DEFAULT_LAYOUT, normalise_header
from pipeline.ingest.typed_rows import create_typing_macros
from pipeline.model_registry import load_champion
from pipeline.modelling.churn import score_churn
from pipeline.modelling.model_inputs import BEHAVIOUR_FEATURES
from pipeline.modelling.model_runs import CHURN_MODEL, PROPENSITY_MODEL
from pipeline.modelling.propensity import score_propensity
from pipeline.modelling.trading_clock import daily_orders
from pipeline.modelling.training_frames import (
    ModelWindows,
    add_trading_columns,
    features_as_of,
    resolve_snapshot,
)
from pipeline.segmentation.tracking import (
    PERSONA_MODEL,
    STYLE_MODEL,
    VALUE_MODEL,
    assign_segments,
)
from pipeline.segmentation.warehouse import style_features
from pipeline.settings import Settings

LOG_TABLE = "marts.prediction_log"
RFM_COLUMNS = ("recency_days", "frequency", "monetary")

PREDICTION_LOG_SQL = create_tables_sql(LOG_TABLE)


class NewCustomersError(ValueError):
    """A new-customers file that cannot be scored; the message names the file."""


@dataclass
class CustomerInputs:
    """Per-customer feature rows of one file, with their identity and what was imputed."""

    source: str
    mode: str
    frame: pd.DataFrame  # one row per customer: model inputs (+ style inputs when known)
    input_keys: dict[str, str]
    inputs: dict[str, str]  # customer_id -> JSON of the rows that describe them
    imputed: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ScoringReport:
    files: int
    scored: int
    already_scored: int
    seconds: float


def ensure_prediction_log(connection: duckdb.DuckDBPyConnection) -> None:
    connection.execute(PREDICTION_LOG_SQL)


def _key(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def _is_rfm_file(columns: list[str]) -> bool:
    names = {normalise_header(c) for c in columns}
    has_date = any(BUILTIN_ALIASES.get(n) == "invoice_ts" for n in names)
    return not has_date and {"recencydays", "frequency", "monetary"} <= names


def _read_columns(path: Path) -> list[str]:
    relation = (
        duckdb.read_parquet(str(path))
        if path.suffix.lower() in {".parquet", ".pq"}
        else duckdb.read_csv(str(path), all_varchar=True)
    )
    return list(relation.columns)


def _rfm_inputs(
    path: Path,
    population: pd.DataFrame,
    orders_per_day: pd.DataFrame,
    snapshot: dt.datetime,
    horizon_days: int,
) -> CustomerInputs:
    reader = pd.read_parquet if path.suffix.lower() in {".parquet", ".pq"} else pd.read_csv
    given = reader(path, dtype={"customer_id": str})
    given.columns = [normalise_header(c) for c in given.columns]
    given = given.rename(
        columns={
            "customerid": "customer_id",
            "recencydays": "recency_days",
            "tenuredays": "tenure_days",
        }
    )
    if given["customer_id"].isna().any():
        raise NewCustomersError(f"{path.name}: customer_id is empty on some rows")
    frame = given.drop_duplicates("customer_id", keep="last").reset_index(drop=True)
    for column in RFM_COLUMNS:
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
        bad = frame[column].isna()
        if bad.any():
            row = int(np.flatnonzero(bad)[0]) + 2
            raise NewCustomersError(f"{path.name}, row {row}, column {column!r}: not a number")
    imputed = []
    if "tenure_days" not in frame:
        frame["tenure_days"] = frame["recency_days"]
        imputed.append("tenure_days")
    frame["avg_order_value"] = frame["monetary"] / frame["frequency"].clip(lower=1)
    medians = population.median(numeric_only=True)
    for column in BEHAVIOUR_FEATURES:
        if column not in frame:
            frame[column] = medians.get(column, np.nan)
            imputed.append(column)
    frame["last_purchase_ts"] = snapshot - pd.to_timedelta(frame["recency_days"], unit="D")
    frame["first_purchase_ts"] = snapshot - pd.to_timedelta(frame["tenure_days"], unit="D")
    frame, _ = add_trading_columns(frame, orders_per_day, snapshot, horizon_days)
    records = given.astype(str).to_dict(orient="records")
    inputs = {r["customer_id"]: json.dumps(r, sort_keys=True) for r in records}
    keys = {cid: _key(path.name, text) for cid, text in inputs.items()}
    return CustomerInputs(path.name, "rfm", frame, keys, inputs, sorted(set(imputed)))


def _transaction_inputs(
    path: Path,
    orders_per_day: pd.DataFrame,
    snapshot: dt.datetime,
    horizon_days: int,
    non_product_codes: tuple[str, ...],
) -> tuple[CustomerInputs, dt.datetime]:
    """The same ingestion, cleaning and feature SQL as the warehouse, in memory."""
    memory = duckdb.connect()
    ensure_raw_schema(memory)
    create_typing_macros(memory)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    outcome = ingest_file(memory, path, path.name, DEFAULT_LAYOUT, now)
    if outcome.status == "rejected":
        raise NewCustomersError(outcome.error)
    build_staging(memory, non_product_codes=non_product_codes, latest_valid_ts=now)
    (last,) = memory.execute("SELECT max(invoice_ts) FROM staging.transactions").fetchall()[0]
    if last is None:
        raise NewCustomersError(f"{path.name}: no valid purchase of an identified customer")
    as_of = max(snapshot, dt.datetime.combine(last.date() + dt.timedelta(days=1), dt.time()))
    own_orders = daily_orders(memory, as_of)
    combined = (
        pd.concat([orders_per_day, own_orders]).groupby("day", as_index=False).sum()
        if len(orders_per_day)
        else own_orders
    )
    frame = features_as_of(memory, as_of, horizon_days, orders_per_day=combined)
    ensure_product_categories_table(memory)
    build_customer_rfm(memory, as_of)
    frame = frame.merge(style_features(memory), on="customer_id", how="left", suffixes=("", "_s"))
    rows = memory.execute(
        """
        SELECT customer_id, to_json(list(struct_pack(invoice_id, stock_code, quantity,
               invoice_ts, unit_price, line_amount) ORDER BY source_row))::VARCHAR
        FROM raw.transactions WHERE customer_id IS NOT NULL GROUP BY customer_id
        """
    ).fetchall()
    inputs = {cid: text for cid, text in rows}
    keys = {cid: _key(path.name, text) for cid, text in inputs.items()}
    memory.close()
    frame["customer_id"] = frame["customer_id"].astype(str)
    return CustomerInputs(path.name, "transactions", frame, keys, inputs), as_of


_SCRATCH: duckdb.DuckDBPyConnection | None = None
_SCRATCH_LOCK = threading.Lock()


def _scratch_cursor() -> duckdb.DuckDBPyConnection:
    """A connection of its own (a cursor) to one in-memory database per process, for
    queries over registered frames: opening a DuckDB database costs about 0.1 s, which a
    live request scoring a few customers would pay on every call; a cursor costs
    microseconds, and what one registers is seen by it alone."""
    global _SCRATCH
    with _SCRATCH_LOCK:
        if _SCRATCH is None:
            _SCRATCH = duckdb.connect(":memory:")
        return _SCRATCH.cursor()


def _actions(scored: pd.DataFrame, plan: ActionPlan) -> pd.DataFrame:
    memory = _scratch_cursor()
    try:
        memory.register("scored", scored)
        case, parameters = action_case_sql(plan, set(scored.columns))
        index = memory.execute(f"SELECT {case} FROM scored", parameters).fetchall()
    finally:
        memory.close()
    rules = plan.all_rules
    return pd.DataFrame(
        {
            "action": [rules[i].action for (i,) in index],
            "action_channel": [rules[i].channel for (i,) in index],
        }
    )


@dataclass
class Champions:
    churn: object
    churn_version: str
    propensity: object
    propensity_version: str
    segment_models: str
    segment_estimators: tuple | None = None  # (value, persona, style), loaded with the rest

    @classmethod
    def load(cls, client) -> Champions:
        churn, churn_version = load_champion(client, CHURN_MODEL)
        propensity, propensity_version = load_champion(client, PROPENSITY_MODEL)
        segment_versions, estimators = [], []
        for name in (VALUE_MODEL, PERSONA_MODEL, STYLE_MODEL):
            estimator, version = load_champion(client, name)
            segment_versions.append(f"{name} v{version}")
            estimators.append(estimator)
        return cls(
            churn,
            churn_version,
            propensity,
            propensity_version,
            ", ".join(segment_versions),
            tuple(estimators),
        )


def score_customers(
    customers: CustomerInputs,
    champions: Champions,
    plan: ActionPlan,
    *,
    as_of: dt.datetime,
    horizon_days: int,
    timezone: str,
    tracking_uri: str | None = None,
    now: dt.datetime | None = None,
) -> pd.DataFrame:
    """Rows for marts.prediction_log, one per customer of ``customers``."""
    frame = customers.frame.reset_index(drop=True)
    windows = ModelWindows(as_of, as_of - dt.timedelta(days=horizon_days), horizon_days)
    churn = score_churn(
        champions.churn,
        frame,
        windows=windows,
        model_name=CHURN_MODEL,
        model_version=champions.churn_version,
    )
    propensity = score_propensity(
        champions.propensity,
        frame,
        windows=windows,
        model_name=PROPENSITY_MODEL,
        model_version=champions.propensity_version,
    )
    segments = assign_segments(
        frame, tracking_uri=tracking_uri, models=champions.segment_estimators
    )
    scored = pd.DataFrame(
        {
            "customer_id": frame["customer_id"].astype(str).to_numpy(),
            "tenure_days": frame["tenure_days"].to_numpy(),
            "value_segment": segments["value_segment"].to_numpy(),
            "persona": segments["persona"].to_numpy(),
            "purchase_style": segments["purchase_style"].to_numpy(),
            "value_style_label": segments["value_style_label"].to_numpy(),
            "churn_risk_pct": churn["churn_risk_pct"].to_numpy(),
            "purchase_probability": propensity["purchase_probability"].to_numpy(),
            "expected_spend": propensity["predicted_spend"].to_numpy(),
            "top_reasons": propensity["top_reasons"].to_numpy(),
        }
    )
    scored = pd.concat([scored, _actions(scored, plan)], axis=1)
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    local = now.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(timezone)).replace(tzinfo=None)
    keys = [customers.input_keys[c] for c in scored["customer_id"]]
    scored = scored.drop(columns=["tenure_days"])
    scored.insert(0, "prediction_id", [_key(k, now.isoformat()) for k in keys])
    scored.insert(1, "input_key", keys)
    scored.insert(3, "source", customers.source)
    scored.insert(4, "input_mode", customers.mode)
    scored.insert(5, "inputs", [customers.inputs[c] for c in scored["customer_id"]])
    scored.insert(6, "imputed_features", [customers.imputed] * len(scored))
    scored.insert(7, "predicted_at", now)
    scored.insert(8, "predicted_at_local", local)
    scored.insert(9, "display_timezone", timezone)
    scored.insert(10, "features_as_of", as_of)
    scored["churn_model"] = f"{CHURN_MODEL} v{champions.churn_version}"
    scored["propensity_model"] = f"{PROPENSITY_MODEL} v{champions.propensity_version}"
    scored["segment_models"] = champions.segment_models
    return scored


def append_predictions(connection: duckdb.DuckDBPyConnection, rows: pd.DataFrame) -> int:
    """Append to marts.prediction_log the rows whose input_key is not logged yet."""
    if rows.empty:
        return 0
    connection.register("_new_predictions", rows)
    try:
        before = connection.execute(f"SELECT count(*) FROM {LOG_TABLE}").fetchall()[0][0]
        connection.execute(
            f"""
            INSERT INTO {LOG_TABLE} BY NAME
            SELECT * FROM _new_predictions
            WHERE input_key NOT IN (SELECT input_key FROM {LOG_TABLE})
            """
        )
        after = connection.execute(f"SELECT count(*) FROM {LOG_TABLE}").fetchall()[0][0]
    finally:
        connection.unregister("_new_predictions")
    return int(after - before)


def score_files(
    connection: duckdb.DuckDBPyConnection,
    files: list[Path],
    *,
    client,
    plan: ActionPlan,
    snapshot: dt.datetime,
    horizon_days: int,
    timezone: str,
    non_product_codes: tuple[str, ...],
    tracking_uri: str | None = None,
) -> ScoringReport:
    """Score every customer of ``files`` not logged yet and append them to the log."""
    started = dt.datetime.now()
    ensure_prediction_log(connection)
    logged = {k for (k,) in connection.execute(f"SELECT input_key FROM {LOG_TABLE}").fetchall()}
    orders = daily_orders(connection, snapshot)
    population = connection.execute("SELECT * FROM features.customer_rfm").df()
    champions = None
    scored = skipped = 0
    for path in files:
        if _is_rfm_file(_read_columns(path)):
            customers = _rfm_inputs(path, population, orders, snapshot, horizon_days)
            as_of = snapshot
        else:
            customers, as_of = _transaction_inputs(
                path, orders, snapshot, horizon_days, non_product_codes
            )
        new = [cid for cid, key in customers.input_keys.items() if key not in logged]
        skipped += len(customers.input_keys) - len(new)
        if not new:
            continue
        customers.frame = customers.frame[customers.frame["customer_id"].isin(new)]
        champions = champions or Champions.load(client)
        rows = score_customers(
            customers,
            champions,
            plan,
            as_of=as_of,
            horizon_days=horizon_days,
            timezone=timezone,
            tracking_uri=tracking_uri,
        )
        scored += append_predictions(connection, rows)
        logged |= set(rows["input_key"])
    seconds = (dt.datetime.now() - started).total_seconds()
    return ScoringReport(len(files), scored, skipped, seconds)


def score_with_settings(
    connection: duckdb.DuckDBPyConnection,
    files: list[Path],
    settings: Settings,
    *,
    client,
    tracking_uri: str | None,
) -> ScoringReport:
    """score_files with the snapshot, horizon, timezone, codes and action plan of
    ``settings`` (what the Dagster asset and the command line both use)."""
    return score_files(
        connection,
        files,
        client=client,
        plan=load_configured_plan(settings.action_rules_path),
        snapshot=resolve_snapshot(connection, settings.as_of),
        horizon_days=settings.horizon_days,
        timezone=settings.timezone,
        non_product_codes=settings.non_product_codes,
        tracking_uri=tracking_uri,
    )
