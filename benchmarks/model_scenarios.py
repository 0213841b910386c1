"""Purchase propensity against the demo truth in each demo scenario, without Dagster.

    python benchmarks/model_quality.py --scenarios retail cohort seasonal --rows 1000000

For each scenario: generate the demo data (``python -m pipeline.demo --scenario NAME``,
cached in BENCH_DATA_DIR/scenario-<name>-<rows>/ while the generator is unchanged), load it
with the pipeline's own ingest, cleaning, category and feature code into a fresh DuckDB
file, train purchase propensity out of time exactly as the models step does (the default
windows of assets/model_config.py), score the customers as of the day after the history and
compare the scores, plain BG/NBD and plain Pareto/NBD with what the customers really did in
the 90 days after it. No MLflow and no champion/challenger: the newly trained model is the
one scored.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sys
import time
from pathlib import Path

from _harness import log, run_child


def scenario_data(
    data_dir: Path, scenario: str, rows: int, seed: int, timeout: float, horizon_days: int = 90
) -> Path:
    """The scenario's generated landing Parquet and truth (made once per generator version);
    the truth covers ``horizon_days`` after the history."""
    from engine import _generator_fingerprint

    suffix = "" if horizon_days == 90 else f"-truth{horizon_days}d"
    folder = data_dir / f"scenario-{scenario}-{rows}-seed{seed}{suffix}"
    marker = folder / "generator.txt"
    fingerprint = _generator_fingerprint()
    if marker.exists() and marker.read_text() == fingerprint:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    argv = [sys.executable, "-m", "pipeline.demo", "--rows", rows, "--seed", seed]
    argv += ["--scenario", scenario, "--format", "parquet", "--data-dir", folder, "--no-progress"]
    argv += ["--horizon-days", horizon_days]
    log(f"generating {rows:,} rows of {scenario}: {' '.join(str(a) for a in argv[1:])}")
    result = run_child(argv, timeout=timeout)
    if result.returncode != 0:
        raise SystemExit(f"demo data generation failed: {result.failure()}\n{result.stderr}")
    marker.write_text(fingerprint)
    return folder


def _load_warehouse(folder: Path):
    import duckdb

    from pipeline.cleaning import build_staging
    from pipeline.features import build_customer_rfm
    from pipeline.ingest import ingest_landing
    from pipeline.modelling.training_frames import resolve_snapshot
    from pipeline.product_categories import build_product_categories, load_rules
    from pipeline.settings import DEFAULT_NON_PRODUCT_CODES

    path = folder / "warehouse.duckdb"
    path.unlink(missing_ok=True)
    connection = duckdb.connect(str(path))
    ingest_landing(connection, folder / "landing", folder / "column_mappings.yaml")
    build_staging(
        connection,
        non_product_codes=DEFAULT_NON_PRODUCT_CODES,
        latest_valid_ts=dt.datetime(2030, 1, 1),
    )
    build_product_categories(connection, None, load_rules())
    build_customer_rfm(connection, resolve_snapshot(connection, None))
    return connection


def scenario_quality(folder: Path) -> dict:
    """Train, score and compare with the truth on one scenario's data; the figures."""
    from pipeline.modelling.demo_truth import compare_with_truth, load_truth
    from pipeline.modelling.propensity import score_propensity, train_propensity
    from pipeline.modelling.training_frames import (
        build_training_data,
        resolve_snapshot,
        resolve_windows,
        scoring_frame,
    )

    seconds = {}
    began = time.perf_counter()
    connection = _load_warehouse(folder)
    seconds["load"] = time.perf_counter() - began
    began = time.perf_counter()
    windows = resolve_windows(resolve_snapshot(connection, None), 90)
    data = build_training_data(connection, windows)
    scoring = scoring_frame(connection, windows, ())
    connection.close()
    seconds["training frames"] = time.perf_counter() - began
    began = time.perf_counter()
    training = train_propensity(data)
    seconds["train propensity"] = time.perf_counter() - began
    scores = score_propensity(
        training.model, scoring, windows=windows, model_name="propensity", model_version="new"
    )
    truth, note = load_truth(folder / "demo", windows, windows.snapshot)
    if truth is None:
        raise SystemExit(f"{folder}: {note}")
    churn = scores[["customer_id"]].assign(churn_probability=1 - scores["purchase_probability"])
    comparison = compare_with_truth(truth, scoring, scores, churn, None, windows.horizon_days)
    return {
        "selected": training.selected,
        "calibration": training.model.calibration_,
        "training_rows": len(data.train),
        "windows": len(data.window_starts),
        "customers": comparison.customers,
        "propensity": comparison.propensity.reset_index().to_dict("records"),
        "spend": comparison.spend.reset_index().to_dict("records"),
        "validation": training.evaluation.table().reset_index(names="model").to_dict("records"),
        "seconds": seconds,
    }


def value_quality(folder: Path) -> dict:
    """The 12-month value against a truth generated with ``--horizon-days 365``: the sum
    and rank correlation of clv_12m (discounted and not) and of plain BG/NBD's 12-month
    orders x net order value, against each customer's actual spend in the 365 days; and
    the two factors apart: the value's expected orders in the year (trading-time BG/NBD, and
    the calendar-day one it replaced) against the actual orders, and its spend per expected
    order against the actual spend per order."""
    import numpy as np
    import pandas as pd

    from pipeline.demo import TRUTH_FILE
    from pipeline.modelling import btyd, value
    from pipeline.modelling.model_inputs import bgnbd_inputs, model_input_frame
    from pipeline.modelling.propensity import net_order_value, train_propensity
    from pipeline.modelling.training_frames import (
        build_training_data,
        resolve_snapshot,
        resolve_windows,
        scoring_frame,
    )

    connection = _load_warehouse(folder)
    windows = resolve_windows(resolve_snapshot(connection, None), 90)
    data = build_training_data(connection, windows)
    scoring = scoring_frame(connection, windows, ())
    connection.close()
    model = train_propensity(data).model
    X = model_input_frame(scoring)
    params = model.value_params_
    calendar = {k: v for k, v in params.items() if k != "bgnbd_trading"}
    bgnbd = btyd.BGNBDParams(**params["bgnbd_calendar"])
    inputs = bgnbd_inputs(X, trading_time=False)
    worth = value.customer_value(X, params)
    order_value = worth["expected_order_value"].to_numpy()
    predicted = pd.DataFrame(
        {
            "customer_id": scoring["customer_id"].to_numpy(dtype=object),
            "clv_12m": worth["clv_12m"].to_numpy(),
            "clv_12m_undiscounted": value.lifetime_value(X, params, order_value, annual_rate=0),
            "clv_12m_calendar_undiscounted": value.lifetime_value(
                X, calendar, order_value, annual_rate=0
            ),
            "bgnbd_12m": btyd.expected_purchases(bgnbd, 365.0, *inputs) * net_order_value(X),
            "orders_12m": value.lifetime_value(X, params, 1.0, annual_rate=0),
            "orders_12m_calendar": value.lifetime_value(X, calendar, 1.0, annual_rate=0),
        }
    )
    truth = pd.read_parquet(
        folder / "demo" / TRUTH_FILE, columns=["customer_id", "future_spend", "future_orders"]
    )
    truth["customer_id"] = truth["customer_id"].astype(str).astype(object)
    joined = predicted.merge(truth, on="customer_id")

    def against(column: str, actual: pd.Series) -> dict:
        return {
            "total": float(joined[column].sum()),
            "ratio_to_actual": float(joined[column].sum() / actual.sum()),
            "rank_correlation": float(joined[column].corr(actual, method="spearman")),
            "correlation": float(np.corrcoef(joined[column], actual)[0, 1]),
        }

    spend, orders = joined["future_spend"], joined["future_orders"]
    return {
        "customers": len(joined),
        "total_actual_365d": float(spend.sum()),
        "orders_actual_365d": int(orders.sum()),
        **{
            column: against(column, spend)
            for column in (
                "clv_12m",
                "clv_12m_undiscounted",
                "clv_12m_calendar_undiscounted",
                "bgnbd_12m",
            )
        },
        **{column: against(column, orders) for column in ("orders_12m", "orders_12m_calendar")},
        "spend_per_expected_order": float(
            joined["clv_12m_undiscounted"].sum() / joined["orders_12m"].sum()
        ),
        "actual_spend_per_order": float(spend.sum() / orders.sum()),
        "gamma_gamma": params["gamma_gamma"],
    }
