"""Score new customers for the API: pipeline.live_scoring's functions, on the snapshot.

The batch (pipeline.live_scoring.score_files) takes the population's medians and the
store's orders per day from the warehouse. The API takes both from the published snapshot
(features.customer_rfm and features.daily_orders, as of the same snapshot date), so a
customer scored here gets the labels, scores, reasons and action the batch would give.

A request's rows become one input file (the same readers, cleaning and feature SQL as a
file dropped in DATA_DIR/landing/new_customers/); its customers are looked up in the API's
prediction log by input key, only those not logged are scored, and the answer is what the
log holds for every customer of the request.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipeline.action_rules import DEFAULT_RULES_PATH, ActionPlan, load_action_plan
from pipeline.live_scoring import (
    Champions,
    CustomerInputs,
    NewCustomersError,
    _is_rfm_file,
    _key,
    _rfm_inputs,
    _transaction_inputs,
    score_customers,
)
from pipeline.model_registry import champion_version
from pipeline.modelling.model_runs import CHURN_MODEL, PROPENSITY_MODEL
from pipeline.modelling.tracking import point_mlflow_at
from pipeline.segmentation.tracking import PERSONA_MODEL, STYLE_MODEL, VALUE_MODEL
from pipeline.serving.daily_orders import read_daily_orders
from pipeline.serving.prediction_log import PredictionLog, row_records, stored_record
from pipeline.serving.snapshot import Generation
from pipeline.settings import Settings

CHAMPION_MODELS = (CHURN_MODEL, PROPENSITY_MODEL, VALUE_MODEL, PERSONA_MODEL, STYLE_MODEL)
SOURCE_STEM = "api"  # the source of the API's predictions in marts.prediction_log
EXCEL_SUFFIXES = (".xlsx", ".xlsm")


def tracking_uri(settings: Settings) -> str:
    """MLFLOW_TRACKING_URI, else the embedded store under DATA_DIR (as the pipeline)."""
    return os.environ.get("MLFLOW_TRACKING_URI") or (
        f"sqlite:///{settings.mlflow_dir / 'mlflow.db'}"
    )


class ChampionModels:
    """The champion models, loaded once and again only when an alias moves (checked at
    most every ``check_seconds``)."""

    def __init__(self, uri: str, check_seconds: float = 5.0):
        from mlflow import MlflowClient

        point_mlflow_at(uri)
        self.uri = uri
        self.client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        self.check_seconds = check_seconds
        self._lock = threading.Lock()
        self._champions: Champions | None = None
        self._versions: tuple[str, ...] = ()
        self._checked = 0.0
        self.loads = 0

    def versions(self) -> tuple[str, ...]:
        found = []
        for name in CHAMPION_MODELS:
            version = champion_version(self.client, name)
            if version is None:
                raise LookupError(f"{name} has no champion: run the refresh job first")
            found.append(str(version.version))
        return tuple(found)

    def get(self) -> Champions:
        with self._lock:
            now = time.monotonic()
            if self._champions is None or now - self._checked >= self.check_seconds:
                versions = self.versions()
                if versions != self._versions or self._champions is None:
                    self._champions = Champions.load(self.client)
                    self._versions = versions
                    self.loads += 1
                self._checked = now
            return self._champions


class ActionPlans:
    """The configured action plan (``load_configured_plan``: the marketer's file if present,
    else the shipped defaults), read again only when that file changes: reading and checking
    the YAML costs tens of milliseconds, more than scoring a few customers."""

    def __init__(self, user_rules_path: Path):
        self.user_rules_path = user_rules_path
        self._lock = threading.Lock()
        self._plan: ActionPlan | None = None
        self._version: tuple | None = None

    def get(self) -> ActionPlan:
        path = self.user_rules_path if self.user_rules_path.exists() else DEFAULT_RULES_PATH
        stat = path.stat()
        version = (str(path), stat.st_ino, stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if self._plan is None or version != self._version:
                self._plan, self._version = load_action_plan(path), version
            return self._plan


@dataclass(frozen=True)
class ScoringContext:
    """What scoring needs from one snapshot generation."""

    population: pd.DataFrame  # features.customer_rfm
    orders_per_day: pd.DataFrame  # features.daily_orders
    snapshot: dt.datetime  # the features' snapshot date


_CONTEXT_LOCK = threading.Lock()


def scoring_context(generation: Generation) -> ScoringContext:
    """The generation's scoring context, read from it once."""
    with _CONTEXT_LOCK:
        context = generation.loaded.get("scoring")
        if context is None:
            cursor = generation.cursor()
            try:
                population = cursor.execute("FROM features.customer_rfm").df()
                orders = read_daily_orders(cursor)
            finally:
                cursor.close()
            snapshot = pd.Timestamp(population["as_of"].max()).to_pydatetime()
            context = ScoringContext(population, orders, snapshot)
            generation.loaded["scoring"] = context
        return context


@dataclass(frozen=True)
class ScoringOutcome:
    records: list[dict]  # one per customer: RFM rows in their order, else by customer id
    scored: int  # new predictions appended to the log
    already_logged: int


def _rows_file(folder: Path, frame: pd.DataFrame) -> Path:
    path = folder / f"{SOURCE_STEM}.csv"
    frame.to_csv(path, index=False)
    return path


def upload_file(folder: Path, filename: str, content: bytes) -> Path:
    """An uploaded CSV or XLSX as an input file; Excel RFM rows are written as CSV (the RFM
    reader reads CSV and Parquet)."""
    suffix = Path(filename or "").suffix.lower() or ".csv"
    if suffix in EXCEL_SUFFIXES:
        sheet = pd.read_excel(io.BytesIO(content), dtype=str)
        if _is_rfm_file(list(sheet.columns)):
            return _rows_file(folder, sheet)
        path = folder / f"{SOURCE_STEM}{suffix}"
    elif suffix in (".csv", ".txt", ".tsv"):
        path = folder / f"{SOURCE_STEM}.csv"
    else:
        raise NewCustomersError(f"{filename}: upload a .csv or .xlsx file, not {suffix}")
    path.write_bytes(content)
    return path


def customer_inputs(
    path: Path, context: ScoringContext, settings: Settings
) -> tuple[CustomerInputs, dt.datetime]:
    """The customers of one input file, as live scoring reads them."""
    if _is_rfm_file(_columns(path)):
        customers = _rfm_inputs(
            path,
            context.population,
            context.orders_per_day,
            context.snapshot,
            settings.horizon_days,
        )
        return customers, context.snapshot
    return _transaction_inputs(
        path,
        context.orders_per_day,
        context.snapshot,
        settings.horizon_days,
        settings.non_product_codes,
    )


def _columns(path: Path) -> list[str]:
    if path.suffix.lower() in EXCEL_SUFFIXES:
        return list(pd.read_excel(path, nrows=0).columns)
    return list(pd.read_csv(path, nrows=0, dtype=str).columns)


def score_input(
    write_input,
    *,
    context: ScoringContext,
    models: ChampionModels,
    plan: ActionPlan,
    log: PredictionLog,
    settings: Settings,
    max_customers: int,
) -> ScoringOutcome:
    """Score the customers of the input ``write_input(folder) -> path`` writes, log the
    new predictions and return what the log holds for each of them."""
    with tempfile.TemporaryDirectory(prefix="api-score-") as folder:
        path = write_input(Path(folder))
        customers, as_of = customer_inputs(path, context, settings)
    # The customer id is part of the key: two customers with the same lines are two inputs.
    customers.input_keys = {
        cid: _key(customers.source, cid, text) for cid, text in customers.inputs.items()
    }
    order = list(customers.input_keys)
    if customers.mode == "transactions":
        order.sort()
    if len(order) > max_customers:
        raise NewCustomersError(
            f"{len(order)} customers in one request; the limit is {max_customers}"
        )
    logged = log.logged(customers.input_keys.values())
    new = [cid for cid in order if customers.input_keys[cid] not in logged]
    appended = 0
    if new:
        customers.frame = customers.frame[customers.frame["customer_id"].isin(new)]
        rows = score_customers(
            customers,
            models.get(),
            plan,
            as_of=as_of,
            horizon_days=settings.horizon_days,
            timezone=settings.timezone,
            tracking_uri=models.uri,
        )
        records = row_records(rows)
        appended = log.append(records)
        if appended == len(records):  # all of them are ours: the log holds what we wrote
            logged.update((r["input_key"], stored_record(r)) for r in records)
        else:  # another request logged some of them first: answer with what it logged
            logged = log.logged(customers.input_keys.values())
    records = [
        {**logged[customers.input_keys[cid]], "already_logged": cid not in new} for cid in order
    ]
    return ScoringOutcome(records, appended, len(order) - len(new))
