"""The segment models are trained on the training cadence; the segment tables are labelled by
their champions, so a run without training neither refits nor registers anything, and a
machine without a champion gets one from the first run that needs it."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
from dagster import AssetSelection, DagsterInstance

from assets.segment_models import SEGMENT_MODEL_KEYS
from pipeline.demo import write_demo_data
from pipeline.segmentation import SEGMENT_MODELS, PurchaseStyleModel
from pipeline.segmentation.drift import SegmentDrift, fit_input_metrics, share_distance
from pipeline.table_fingerprints import fingerprint_tables
from resources.mlflow_tracking import ModelTracking
from tests.test_segmentation import forget_mlflow_uris

TABLES = ("segments/customer_value", "segments/purchase_style", "segments/personas")


def _run(selection: AssetSelection) -> dict[str, dict]:
    """The refresh job narrowed to ``selection`` (no checks); the metadata of each asset."""
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    job = defs.resolve_job_def("refresh").get_subset(
        asset_selection=selection.required_multi_asset_neighbors().resolve(graph),
        asset_check_selection=set(),
    )
    with DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(instance=instance, raise_on_error=False)
    assert result.success
    return {
        e.asset_key.to_user_string(): e.step_materialization_data.materialization.metadata
        for e in result.all_events
        if e.event_type_value == "ASSET_MATERIALIZATION"
    }


def _versions() -> dict[str, list[int]]:
    client = ModelTracking().client()
    return {
        name: sorted(int(v.version) for v in client.search_model_versions(f"name='{name}'"))
        for name in SEGMENT_MODELS
    }


def _segment_tables(data_dir) -> dict:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as connection:
        return fingerprint_tables(connection, schemas=("segments",))


@pytest.mark.slow
def test_segment_tables_follow_their_champions_between_trainings(data_dir, monkeypatch):
    forget_mlflow_uris(monkeypatch)  # the default store: DATA_DIR/mlflow
    write_demo_data(data_dir / "landing", data_dir / "demo", n_rows=20_000, seed=7)
    segments = AssetSelection.groups("segments")
    models = AssetSelection.assets(*SEGMENT_MODEL_KEYS)

    # No champion yet: each table fits and registers the first version itself.
    first = _run(segments.upstream() - models)
    assert _versions() == {name: [1] for name in SEGMENT_MODELS}
    for table in TABLES:
        assert "there was no champion yet" in first[table]["model"].value, table

    # Training registers version 2, and the tables are labelled by it.
    second = _run(segments.upstream())
    assert _versions() == {name: [1, 2] for name in SEGMENT_MODELS}
    for table in TABLES:
        assert second[table]["model"].value.endswith("v2 (champion)"), table
    trained = second["models/purchase_style_segments"]
    assert "now the champion" in trained["model"].value and "Bulk" in trained["centroids"].value
    client = ModelTracking().client()
    style_run = client.get_run(client.get_model_version("purchase_style_segments", "2").run_id)
    assert style_run.data.metrics["assessed_customers"] > 0  # for its drift check
    labelled = _segment_tables(data_dir)

    # A run without training: the same champions label the same customers the same way,
    # and the registry gains nothing.
    third = _run(segments)
    assert _versions() == {name: [1, 2] for name in SEGMENT_MODELS}
    assert _segment_tables(data_dir) == labelled
    assert set(third) == set(TABLES)
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as connection:
        stamped = connection.execute(
            "SELECT DISTINCT model_version FROM segments.purchase_style"
        ).fetchall()
    assert stamped == [("2",)]


def test_the_share_distance_is_the_share_of_customers_that_would_have_to_move():
    distance, shares = share_distance({"high": 20, "low": 80}, {"high": 35, "low": 60, "mid": 5})
    assert distance == pytest.approx(0.2)  # (0.15 + 0.20 + 0.05) / 2
    assert shares == (("high", 0.2, 0.35), ("low", 0.8, 0.6), ("mid", 0.0, 0.05))
    assert share_distance({"a": 3}, {"a": 30})[0] == 0.0


def test_drift_beyond_the_tolerance_asks_for_a_retrain_and_says_why():
    moved = SegmentDrift("customer_personas", "4", 0.15, 0.10, (("New Customers", 0.1, 0.25),))
    assert moved.drifted and "a retrain is due" in moved.reason
    assert "New Customers 10.0% -> 25.0%" in moved.reason and "v4" in moved.reason
    steady = SegmentDrift("customer_value_segments", "2", 0.0004, 0.10, (("High", 0.2801, 0.2804),))
    assert steady.reason.endswith("within tolerance")  # no label moved by a tenth of a point
    assert not SegmentDrift("customer_personas", "4", 0.05, 0.10).drifted
    nothing = SegmentDrift("customer_personas", None, None, 0.10)
    assert not nothing.drifted and "no champion" in nothing.reason


def test_a_style_model_that_could_assess_few_customers_drifts_when_quantities_arrive():
    # Fitted on files without quantities (nobody assessed, everyone Regular); now 80% of the
    # customers have quantities, and the labels have not moved.
    quantities = SegmentDrift(
        "purchase_style_segments", "1", 0.0, 0.10, (("Regular", 1.0, 1.0),), (0.0, 0.8)
    )
    assert quantities.drifted
    assert "customers it can assess 0.0% at the fit, 80.0% now" in quantities.reason
    same = SegmentDrift("purchase_style_segments", "1", 0.0, 0.10, (), (0.75, 0.8))
    assert not same.drifted


def test_the_style_fit_logs_how_many_customers_it_could_assess():
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i}" for i in range(40)],
            "quantity_lines": [0] * 10 + [5] * 30,
            "median_units_per_line": [np.nan] * 10 + [3.0] * 30,
        }
    )
    for column in ("p25_units_per_line", "p75_units_per_line", "avg_units_per_line"):
        frame[column] = frame["median_units_per_line"]
    frame["max_units_per_line"] = frame["median_units_per_line"] * 2
    model = PurchaseStyleModel().fit(frame)
    assert model.n_assessed_ == 30
    assert fit_input_metrics(model) == {"assessed_customers": 30.0}
    assert fit_input_metrics(object()) == {}
