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


def scenario_data(data_dir: Path, scenario: str, rows: int, seed: int, timeout: float) -> Path:
    """The scenario's generated landing Parquet and truth (made once per generator version)."""
    from engine import _generator_fingerprint

    folder = data_dir / f"scenario-{scenario}-{rows}-seed{seed}"
    marker = folder / "generator.txt"
    fingerprint = _generator_fingerprint()
    if marker.exists() and marker.read_text() == fingerprint:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    argv = [sys.executable, "-m", "pipeline.demo", "--rows", rows, "--seed", seed]
    argv += ["--scenario", scenario, "--format", "parquet", "--data-dir", folder, "--no-progress"]
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
