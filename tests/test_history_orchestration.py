"""How history snapshots are taken: the job, the sensor's and schedule's request, the
backfill's dates and runs, and the automation around the partitioned asset."""

from __future__ import annotations

import datetime as dt

import pytest
from dagster import (
    AssetKey,
    AssetMaterialization,
    DagsterInstance,
    RunRequest,
    SkipReason,
)

from orchestration.definitions import defs
from orchestration.history import backfill_run, snapshot_request
from pipeline.history import backfill_dates, shift_months

HISTORY = AssetKey(["history", "customer_snapshots"])
FEATURES = AssetKey(["features", "customer_rfm"])


def test_backfill_dates_every_day_week_and_month():
    jan31 = dt.date(2011, 1, 31)
    assert backfill_dates(jan31, dt.date(2011, 5, 1), "month") == [
        jan31,
        dt.date(2011, 2, 28),
        dt.date(2011, 3, 31),
        dt.date(2011, 4, 30),
    ]
    assert backfill_dates(dt.date(2011, 1, 1), dt.date(2011, 1, 20), "week") == [
        dt.date(2011, 1, d) for d in (1, 8, 15)
    ]
    assert len(backfill_dates(dt.date(2011, 1, 1), dt.date(2011, 1, 20), "day")) == 20
    with pytest.raises(ValueError, match="before the start"):
        backfill_dates(dt.date(2011, 2, 1), dt.date(2011, 1, 1))
    with pytest.raises(ValueError, match="every must be"):
        backfill_dates(dt.date(2011, 1, 1), dt.date(2011, 2, 1), "year")


def test_shift_months_keeps_the_day_or_takes_the_months_last():
    assert shift_months(dt.date(2011, 12, 10), -6) == dt.date(2011, 6, 10)
    assert shift_months(dt.date(2011, 3, 31), -1) == dt.date(2011, 2, 28)
    assert shift_months(dt.date(2011, 11, 30), 3) == dt.date(2012, 2, 29)  # leap year
    assert shift_months(dt.date(2011, 1, 15), -13) == dt.date(2009, 12, 15)


def test_a_backfill_is_one_run_over_the_range():
    tags, config = backfill_run(dt.date(2011, 1, 1), dt.date(2011, 12, 15), "month")
    assert tags == {
        "dagster/asset_partition_range_start": "2011-01-01",
        "dagster/asset_partition_range_end": "2011-12-01",  # the last monthly date
    }
    assert config == {"ops": {"customer_snapshots": {"config": {"every": "month"}}}}
    with pytest.raises(ValueError, match="outside the history's partitions"):
        backfill_run(dt.date(1999, 1, 1), dt.date(2011, 1, 1))


def test_the_history_has_its_own_job_and_no_automation_of_its_own():
    graph = defs.resolve_asset_graph()
    history = graph.get(HISTORY)
    assert history.partitions_def is not None
    assert history.backfill_policy is not None
    assert history.automation_condition is None
    for job in ("refresh", "nightly"):
        assert HISTORY not in defs.resolve_job_def(job).asset_layer.executable_asset_keys
    job = defs.resolve_job_def("history_snapshot")
    assert job.partitions_def is not None
    assert {HISTORY, AssetKey(["bi", "customer_intel"])} <= set(
        job.asset_layer.executable_asset_keys
    )
    marts = graph.get(AssetKey(["marts", "segment_transitions"]))
    assert "allowing snapshot dates never taken" in marts.automation_condition.get_label()


def test_the_snapshot_is_requested_for_the_features_date():
    with DagsterInstance.ephemeral() as instance:
        assert isinstance(snapshot_request(instance, "test"), SkipReason)
        instance.report_runless_asset_event(
            AssetMaterialization(FEATURES, metadata={"as_of": "2011-12-10T00:00:00"})
        )
        request = snapshot_request(instance, "test")
        assert isinstance(request, RunRequest)
        assert request.partition_key == "2011-12-10"
        instance.report_runless_asset_event(
            AssetMaterialization(FEATURES, metadata={"as_of": "1990-01-01T00:00:00"})
        )
        too_early = snapshot_request(instance, "test")
        assert isinstance(too_early, SkipReason)
        assert "outside the history's partitions" in too_early.skip_message
