"""End to end: a backfilled snapshot is what the pipeline publishes on that date with the
same models, and a range of dates is one run."""

from __future__ import annotations

import shutil

import duckdb
import pandas as pd
import pytest
from dagster import AssetCheckKey, AssetKey, DagsterInstance

from tests.conftest import DEMO_ENVIRONMENT, run_refresh

SNAPSHOT_DATE = "2011-09-01"
FEATURE_COLUMNS = [
    "customer_id", "country", "recency_days", "frequency", "monetary", "tenure_days",
    "avg_order_value", "return_rate", "r_score", "f_score", "m_score", "rfm_segment",
]  # fmt: skip
LABEL_COLUMNS = ["value_segment", "value_score", "purchase_style", "value_style_label", "persona"]
SCORE_COLUMNS = [
    "churn_probability", "churn_risk_pct", "churn_risk_band", "purchase_probability",
    "propensity_decile", "expected_orders", "expected_spend",
]  # fmt: skip
HISTORY = AssetKey(["history", "customer_snapshots"])


@pytest.fixture
def history_data_dir(refreshed, tmp_path, monkeypatch):
    """A copy of the refreshed demo DATA_DIR (its warehouse and model registry), so this
    test's writes leave the shared one as it was."""
    data_dir = tmp_path / "data"
    shutil.copytree(
        refreshed[0], data_dir, ignore=shutil.ignore_patterns("*.lock", "exports", "quality")
    )
    monkeypatch.setenv("DATA_DIR", str(data_dir))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("AS_OF_DATE", raising=False)
    for name, value in DEMO_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    return data_dir


def _run_history(instance, start: str, end: str, every: str = "day"):
    """One run of the job history_snapshot over the range, its dates ``every`` day, week or
    month apart."""
    from orchestration.definitions import defs

    return defs.resolve_job_def("history_snapshot").execute_in_process(
        instance=instance,
        raise_on_error=False,
        run_config={"ops": {"customer_snapshots": {"config": {"every": every}}}},
        tags={
            "dagster/asset_partition_range_start": start,
            "dagster/asset_partition_range_end": end,
        },
    )


def _pipeline_snapshot(connection, versions: dict[str, str]) -> pd.DataFrame:
    """What the nightly tables hold after a run with AS_OF_DATE: the features and the scores
    as written, and the labels the segment models give those features."""
    from pipeline.model_registry import load_model
    from pipeline.segmentation.tracking import assign_segments
    from pipeline.segmentation.warehouse import style_features, value_features

    models = tuple(load_model(f"models:/{name}/{versions[name]}") for name in versions)
    frame = value_features(connection).merge(
        style_features(connection).drop(columns=["as_of"]), on="customer_id"
    )
    labels = assign_segments(frame, models=models)
    features = connection.execute(
        f"SELECT {', '.join(FEATURE_COLUMNS)}, as_of FROM features.customer_rfm"
    ).df()
    scores = connection.execute(
        """
        SELECT c.customer_id, c.churn_probability, c.churn_risk_pct, c.churn_risk_band,
               p.purchase_probability, p.propensity_decile, p.expected_orders,
               p.predicted_spend AS expected_spend,
               c.model_version AS churn_model_version,
               p.model_version AS propensity_model_version
        FROM scores.churn c JOIN scores.propensity p USING (customer_id)
        """
    ).df()
    return (
        features.merge(labels[["customer_id", *LABEL_COLUMNS]], on="customer_id")
        .merge(scores, on="customer_id")
        .sort_values("customer_id", ignore_index=True)
    )


def test_a_backfilled_snapshot_equals_the_pipelines_snapshot_of_that_date(
    history_data_dir, monkeypatch
):
    with DagsterInstance.ephemeral() as instance:
        backfill = _run_history(instance, "2011-08-31", SNAPSHOT_DATE)
        assert backfill.success
        materialized = instance.fetch_materializations(HISTORY, limit=10).records
        assert sorted(r.partition_key for r in materialized) == ["2011-08-31", SNAPSHOT_DATE]
        assert {r.run_id for r in materialized} == {backfill.run_id}  # one run for the range

    # The pipeline's own assets with AS_OF_DATE set to the snapshot's date.
    monkeypatch.setenv("AS_OF_DATE", SNAPSHOT_DATE)
    nightly = run_refresh(
        [AssetKey(["features", "customer_rfm"]), AssetKey(["scores", "churn"])]
        + [AssetKey(["scores", "propensity"])]
    )
    assert nightly.success

    with duckdb.connect(str(history_data_dir / "warehouse.duckdb")) as connection:
        history = connection.execute(
            "FROM history.customer_snapshots WHERE snapshot_date = $d ORDER BY customer_id",
            {"d": SNAPSHOT_DATE},
        ).df()
        versions = history[
            ["value_model_version", "persona_model_version", "style_model_version"]
        ].drop_duplicates()
        assert len(versions) == 1
        names = ("customer_value_segments", "customer_personas", "purchase_style_segments")
        published = _pipeline_snapshot(connection, dict(zip(names, versions.iloc[0], strict=True)))
        (other_date,) = connection.execute(
            "SELECT count(*) FROM history.customer_snapshots WHERE snapshot_date = '2011-08-31'"
        ).fetchone()

    assert len(history) > 100 and other_date > 0
    # The run published the history and the migration marts with the BI snapshot.
    bi = history_data_dir / "bi" / "customer_intel.duckdb"
    with duckdb.connect(str(bi), read_only=True) as snapshot:
        published_tables = dict(
            snapshot.execute("SELECT table_name, row_count FROM snapshot_info").fetchall()
        )
    assert published_tables["history.customer_snapshots"] == len(history) + other_date
    assert published_tables["marts.segment_transitions"] > 0
    assert "marts.customer_movements" in published_tables
    assert (history["features_as_of"] == pd.Timestamp(SNAPSHOT_DATE)).all()
    assert (published["as_of"] == pd.Timestamp(SNAPSHOT_DATE)).all()
    columns = FEATURE_COLUMNS + LABEL_COLUMNS + SCORE_COLUMNS
    columns += ["churn_model_version", "propensity_model_version"]
    pd.testing.assert_frame_equal(
        history[columns].astype(published[columns].dtypes.to_dict()),
        published[columns],
        check_exact=True,
    )
    assert history["action"].notna().all()
    # Every row is a customer who had bought before the date.
    assert (history["recency_days"] >= 1).all()


def test_writing_a_date_again_replaces_it_and_a_date_before_any_purchase_is_empty(
    history_data_dir,
):
    import datetime as dt

    from pipeline.action_rules import load_action_plan
    from pipeline.history import load_snapshot_models, write_snapshots
    from resources.mlflow_tracking import tracking_from_env

    models = load_snapshot_models(tracking_from_env().client())
    day, before_any = dt.date.fromisoformat(SNAPSHOT_DATE), dt.date(2009, 12, 1)
    with duckdb.connect(str(history_data_dir / "warehouse.duckdb")) as connection:
        first = write_snapshots(connection, [day], models, load_action_plan(), 90)
        again = write_snapshots(connection, [day, before_any], models, load_action_plan(), 90)
        rows = dict(
            connection.execute(
                "SELECT snapshot_date, count(*) FROM history.customer_snapshots GROUP BY 1"
            ).fetchall()
        )
    assert first[day] == again[day] == rows[day] > 100
    assert again[before_any] == 0 and before_any not in rows


def test_the_retention_skips_dates_it_would_delete_and_marks_the_deleted_partitions(
    history_data_dir, monkeypatch
):
    with DagsterInstance.ephemeral() as instance:
        assert _run_history(instance, "2011-06-01", "2011-06-01").success
        monkeypatch.setenv("HISTORY_RETENTION_DAYS", "20")
        # Weekly from Aug 4 to Sep 1: with 20 days kept, only Aug 18, Aug 25 and Sep 1 are
        # taken; the stored Jun 1 is deleted.
        run = _run_history(instance, "2011-08-04", SNAPSHOT_DATE, every="week")
        assert run.success
        taken = sorted(
            event.partition
            for event in run.get_asset_materialization_events()
            if event.asset_key == HISTORY
        )
        observed = [
            event.event_specific_data.asset_observation
            for event in run.all_events
            if event.event_type_value == "ASSET_OBSERVATION"
        ]
    assert taken == ["2011-08-18", "2011-08-25", SNAPSHOT_DATE]
    assert [(o.partition, o.metadata["deleted_by_retention"].value) for o in observed] == [
        ("2011-06-01", True)
    ]
    with duckdb.connect(str(history_data_dir / "warehouse.duckdb"), read_only=True) as connection:
        stored = connection.execute(
            "SELECT DISTINCT snapshot_date::VARCHAR FROM history.customer_snapshots ORDER BY 1"
        ).fetchall()
    assert [day for (day,) in stored] == taken


def _history_evaluations(run) -> list:
    return [
        event.event_specific_data
        for event in run.all_events
        if event.event_type_value == "ASSET_CHECK_EVALUATION"
        and event.event_specific_data.asset_key == HISTORY
    ]


def test_a_thinned_backfill_runs_the_snapshots_checks_itself(history_data_dir):
    """A weekly run reports its dates as events, so the check step after the asset's output
    is skipped; the asset validates the table and yields the check's evaluation instead, and
    a failed blocking expectation fails the run."""
    with DagsterInstance.ephemeral() as instance:
        run = _run_history(instance, "2011-08-18", SNAPSHOT_DATE, every="week")
        assert run.success
        (evaluation,) = _history_evaluations(run)
        assert evaluation.check_name == "gx_history_customer_snapshots"
        assert evaluation.passed and evaluation.blocking
        assert evaluation.metadata["evaluated"].value > 5
        # A row with an unknown RFM segment, from a date this run does not take, is checked.
        with duckdb.connect(str(history_data_dir / "warehouse.duckdb")) as connection:
            connection.execute(
                """
                INSERT INTO history.customer_snapshots BY NAME
                SELECT * REPLACE ('Unknown' AS rfm_segment, DATE '2011-07-01' AS snapshot_date)
                FROM history.customer_snapshots LIMIT 1
                """
            )
        run = _run_history(instance, "2011-08-18", SNAPSHOT_DATE, every="week")
        assert not run.success
        (evaluation,) = _history_evaluations(run)
        assert not evaluation.passed
        assert evaluation.metadata["failed_critical"].value >= 1
        assert "(rfm_segment)" in evaluation.description
        failure = next(e for e in run.all_events if e.event_type_value == "STEP_FAILURE")
        assert "failed their blocking checks" in failure.event_specific_data.error.message
        # The dates written before the verdict are reported all the same.
        taken = [e.partition for e in run.get_asset_materialization_events()]
        assert taken == ["2011-08-18", "2011-08-25", SNAPSHOT_DATE]
        record = instance.event_log_storage.get_latest_asset_check_execution_by_key(
            [AssetCheckKey(HISTORY, "gx_history_customer_snapshots")]
        )
        (latest,) = record.values()
        assert latest.event.dagster_event.event_specific_data.passed is False
