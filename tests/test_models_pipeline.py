"""The models step in Dagster: a file without products, champion/challenger across runs,
and the whole refresh job on small demo data with every model check passing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest

from assets import marts, models, scores
from orchestration.definitions import defs
from pipeline.cleaning import build_staging
from pipeline.demo import write_demo_data
from pipeline.features import build_customer_rfm, default_as_of
from pipeline.ingest import ingest_landing
from pipeline.model_registry import load_champion
from pipeline.modelling.champion_scoring import (
    SCORE_TABLES,
    score_frame,
    scoring_windows,
    snapshot_frame,
    stored_daily_orders,
    stored_features,
)
from pipeline.modelling.demo_truth import compare_with_truth, load_truth
from pipeline.modelling.model_runs import CHURN_MODEL, PRODUCT_MODEL, PROPENSITY_MODEL
from pipeline.modelling.trading_clock import daily_orders
from pipeline.modelling.training_frames import resolve_snapshot, scoring_frame, window_frame
from pipeline.modelling.truth_report import scores_against_truth, truth_rows
from pipeline.product_categories import build_product_categories, load_rules
from pipeline.serving.daily_orders import build_daily_orders
from pipeline.settings import DEFAULT_NON_PRODUCT_CODES
from resources.data_quality import DataQuality
from resources.mlflow_tracking import ModelTracking
from resources.warehouse import DuckDBWarehouse
from tests.test_models import SMALL_DEMO

pytestmark = pytest.mark.slow

MODEL_CHECKS = {
    "churn_scores_valid",
    "propensity_scores_valid",
    "gx_scores_product_propensity",
    "gx_marts_underperformers",
    "gx_scores_horizon_predictions",
    "gx_scores_model_evaluation",
    "gx_scores_calibration_curve",
    "gx_scores_churn_coefficients",
    "gx_scores_truth_evaluation",
    "challenger_beats_champion",
    "champion_not_decayed",
    "recommendations_above_threshold",
}


def check_results(result) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    return {
        (e.asset_key.to_user_string(), e.check_name): e
        for e in result.get_asset_check_evaluations()
    }


def materializations(result) -> dict[str, dict]:
    return {
        event.asset_key.to_user_string(): event.step_materialization_data.materialization.metadata
        for event in result.all_events
        if event.event_type_value == "ASSET_MATERIALIZATION"
    }


@pytest.fixture
def warehouse_without_products(tmp_path: Path) -> Path:
    """Demo purchases reduced to customer_id, date and amount, loaded like any user file."""
    write_demo_data(
        tmp_path / "demo_landing", tmp_path / "demo", n_rows=30_000, seed=3,
        file_format="parquet", behaviour=SMALL_DEMO,
    )  # fmt: skip
    landing = tmp_path / "landing"
    landing.mkdir()
    with duckdb.connect() as connection:
        connection.execute(
            f"""
            COPY (SELECT CustomerID AS customer_id,
                         strftime(InvoiceDate, '%Y-%m-%d %H:%M') AS date,
                         round(Quantity * UnitPrice, 2) AS amount
                  FROM read_parquet('{tmp_path / "demo_landing" / "online_retail_demo.parquet"}'))
            TO '{landing / "sales.csv"}' (HEADER)
            """
        )
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as connection:
        ingest_landing(connection, landing, tmp_path / "column_mappings.yaml")
        build_staging(
            connection,
            non_product_codes=DEFAULT_NON_PRODUCT_CODES,
            latest_valid_ts=dt.datetime(2030, 1, 1),
        )
        build_product_categories(connection, None, load_rules())
        build_customer_rfm(connection, resolve_snapshot(connection, None))
    return path


def test_a_file_without_products_gets_churn_and_propensity_and_skips_products(
    warehouse_without_products, tmp_path, monkeypatch
):
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    selection = [
        *dg.load_assets_from_modules([models, scores, marts]),
        *dg.load_asset_checks_from_modules([models, scores, marts]),
    ]
    # The models, their scores, and the marts computed from them alone.
    subset = dg.AssetSelection.groups("models") | dg.AssetSelection.assets(
        ["marts", "underperformers"], ["marts", "product_recommendations"]
    )
    resources = {
        "warehouse": DuckDBWarehouse(path=str(warehouse_without_products)),
        "data_quality": DataQuality(results_dir=str(tmp_path / "quality")),
        "mlflow": ModelTracking(
            tracking_uri=f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}",
            artifact_location=(tmp_path / "mlflow" / "artifacts").as_uri(),
        ),
    }
    config = {"ops": {"train_models": {"config": {"training_windows": 6}}}}
    with dg.DagsterInstance.ephemeral() as instance:
        first, second = (
            dg.materialize(
                selection,
                resources=resources,
                instance=instance,
                run_config=config,
                selection=subset,
            )
            for _ in range(2)
        )
    assert first.success and second.success
    checks = check_results(first)
    assert all(e.passed for e in checks.values()), checks
    metadata = materializations(first)
    assert "skipped" in metadata["models/product_category_propensity"]["note"].value
    assert "no champion" in metadata["scores/product_propensity"]["note"].value
    assert "nothing to recommend" in metadata["marts/product_recommendations"]["note"].value

    with duckdb.connect(str(warehouse_without_products), read_only=True) as connection:
        customers, before_cutoff = connection.execute(
            "SELECT count(*), count(*) FILTER (WHERE first_purchase_ts < as_of - INTERVAL 90 DAY)"
            " FROM features.customer_rfm"
        ).fetchone()
        for table in ("scores.churn", "scores.propensity"):
            assert connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == customers
        # the last complete horizon's predictions: the customers who had bought before it
        assert 0 < before_cutoff < customers
        underperformers = connection.execute("SELECT count(*) FROM marts.underperformers")
        assert underperformers.fetchone()[0] == before_cutoff
        for table in ("scores.product_propensity", "marts.product_recommendations"):
            assert connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0
        columns = [
            r[0] for r in connection.execute("DESCRIBE scores.product_propensity").fetchall()
        ]
        assert columns[:3] == ["customer_id", "category", "probability"]

    # A second run on the same data trains the same models: no better, so the champions stay
    # and the challenger check warns without failing the run.
    warned = check_results(second)
    for asset in ("models/customer_churn", "models/purchase_propensity"):
        evaluation = warned[(asset, "challenger_beats_champion")]
        assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN
        assert "kept the champion" in evaluation.metadata["summary"].value
    assert warned[("models/product_category_propensity", "challenger_beats_champion")].passed
    # Each champion is judged on the latest complete horizon of the same data (one step
    # for both, with one frame): no decay.
    for asset in ("models/customer_churn", "models/purchase_propensity"):
        decay = warned[(asset, "champion_not_decayed")]
        assert decay.passed and "within tolerance" in decay.metadata["reason"].value
        assert decay.metadata["customers"].value == before_cutoff
    with duckdb.connect(str(warehouse_without_products), read_only=True) as connection:
        assert connection.execute(
            "SELECT DISTINCT model_version FROM scores.propensity"
        ).fetchall() == [("1",)]


def test_scores_reuse_the_stored_features_of_their_date_unchanged(warehouse_without_products):
    with duckdb.connect(str(warehouse_without_products)) as connection:
        windows = scoring_windows(connection, None, 90)
        stored = stored_features(connection, windows.snapshot)
        assert stored is not None and len(stored) > 100
        computed = scoring_frame(connection, windows)
        reused = scoring_frame(connection, windows, features=stored)
        pd.testing.assert_frame_equal(reused, computed)
        # features.customer_rfm of another date is not taken for the snapshot's
        assert stored_features(connection, windows.snapshot - dt.timedelta(days=1)) is None
        connection.execute("DROP TABLE features.customer_rfm")
        assert stored_features(connection, windows.snapshot) is None


def test_scores_and_the_decay_frame_reuse_the_stored_daily_orders_unchanged(
    warehouse_without_products,
):
    with duckdb.connect(str(warehouse_without_products)) as connection:
        windows = scoring_windows(connection, None, 90)
        assert stored_daily_orders(connection, windows.snapshot) is None  # not built yet
        build_daily_orders(connection, windows.snapshot)
        stored = stored_daily_orders(connection, windows.snapshot)
        pd.testing.assert_frame_equal(stored, daily_orders(connection, windows.snapshot))
        pd.testing.assert_frame_equal(
            scoring_frame(connection, windows, orders_per_day=stored),
            scoring_frame(connection, windows),
        )
        # The decay check's window at the cutoff keeps the days before the cutoff only.
        pd.testing.assert_frame_equal(
            window_frame(connection, windows.cutoff, 90, orders_per_day=stored),
            window_frame(connection, windows.cutoff, 90),
        )
        # features.daily_orders of another date is not taken for the snapshot's
        assert stored_daily_orders(connection, windows.snapshot - dt.timedelta(days=1)) is None


def test_refresh_trains_registers_and_scores_with_every_model_check_passing(data_dir):
    write_demo_data(
        data_dir / "landing", data_dir / "demo", n_rows=30_000, seed=11, behaviour=SMALL_DEMO
    )
    job = defs.resolve_job_def("refresh")
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(instance=instance, raise_on_error=False)
    assert result.success
    checks = check_results(result)
    ours = {key: e for key, e in checks.items() if key[1] in MODEL_CHECKS}
    assert len(ours) >= 8
    assert all(e.passed for e in ours.values()), {k: e.passed for k, e in ours.items()}

    metadata = materializations(result)
    propensity = metadata["models/purchase_propensity"]
    assert "model_comparison" in propensity
    truth = metadata["scores/truth_evaluation"]
    assert {"purchase_propensity", "customer_churn", "product_category_propensity"} <= set(truth)
    assert Path(propensity["calibration_plot"].value).exists()
    assert propensity["champion"].value == "purchase_propensity v1"
    assert metadata["scores/propensity"]["model"].value.startswith("purchase_propensity v1")
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as connection:
        customers = connection.execute("SELECT count(*) FROM features.customer_rfm").fetchone()[0]
        assert connection.execute("SELECT count(*) FROM scores.churn").fetchone()[0] == customers
        reasons = connection.execute(
            "SELECT top_reasons, len(reasons) FROM scores.churn LIMIT 1"
        ).fetchone()
        assert reasons[1] == 3 and reasons[0].count("(") == 3
        categories = connection.execute(
            "SELECT count(DISTINCT category) FROM scores.product_propensity"
        ).fetchone()[0]
        assert categories >= 5

    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{data_dir / 'mlflow' / 'mlflow.db'}")
    for name in ("customer_churn", "purchase_propensity", "product_category_propensity"):
        champion = client.get_model_version_by_alias(name, "champion")
        run = client.get_run(champion.run_id)
        assert run.data.tags["dagster_run_id"] == result.run_id
        assert run.data.tags["dagster_asset_key"] == f"models/{name}"

    # The demo truth's comparison reads the written scores: the same figures as scoring the
    # snapshot again with the champions.
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as connection:
        windows = scoring_windows(connection, None, 90)
        data_end = default_as_of(connection)
        report = scores_against_truth(connection, windows, data_dir / "demo", data_end)
        champions = {name: load_champion(client, name) for name in SCORE_TABLES}
        product_model = champions[PRODUCT_MODEL][0]
        frame = snapshot_frame(connection, windows, tuple(product_model.categories_))
        written = connection.execute(
            "SELECT * FROM scores.truth_evaluation ORDER BY model_name, candidate, metric"
        ).df()
    truth, _ = load_truth(data_dir / "demo", windows, data_end)
    scored = {
        name: score_frame(name, model, version, frame, windows, explain=False)
        for name, (model, version) in champions.items()
    }
    again = compare_with_truth(
        truth, frame, scored[PROPENSITY_MODEL], scored[CHURN_MODEL], scored[PRODUCT_MODEL], 90
    )
    for part in ("propensity", "churn", "product", "spend"):
        pd.testing.assert_frame_equal(getattr(report.comparison, part), getattr(again, part))
    assert report.versions == {name: version for name, (_, version) in champions.items()}
    rows = truth_rows(report).sort_values(["model_name", "candidate", "metric"])
    assert len(written) == len(rows) > 0 and set(written["dataset"]) == {"truth"}
    assert np.allclose(written["value"], rows["value"], equal_nan=True)

    # Each score table can be rebuilt alone, with the champion, without training.
    with dg.DagsterInstance.ephemeral() as instance:
        alone = job.execute_in_process(
            instance=instance,
            asset_selection=[dg.AssetKey(["scores", "churn"])],
            raise_on_error=False,
        )
    assert alone.success
    assert set(materializations(alone)) == {"scores/churn"}
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as connection:
        assert connection.execute("SELECT count(*) FROM scores.churn").fetchone()[0] == customers
