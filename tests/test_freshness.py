"""Freshness: a consumer table that stops refreshing is reported overdue by Dagster's own
freshness daemon, with the instance configured as dagster.yaml configures it."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
import yaml
from dagster import AssetKey, AssetMaterialization
from dagster._core.definitions.freshness import FreshnessState
from dagster._core.instance_for_test import instance_for_test
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.test_utils import create_test_daemon_workspace_context, freeze_time
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget
from dagster._daemon.freshness import FreshnessDaemon

DAGSTER_YAML = Path(__file__).resolve().parents[1] / "dagster.yaml"
CONSUMER = AssetKey(["marts", "customer_segments"])
NOT_A_CONSUMER = AssetKey(["features", "customer_rfm"])
MATERIALIZED_AT = dt.datetime(2026, 12, 1, 6, 0, tzinfo=dt.UTC)


def _states(instance, keys) -> dict[AssetKey, FreshnessState]:
    records = instance.get_freshness_state_records(list(keys))
    return {key: records[key].freshness_state for key in keys if key in records}


def _evaluate_at(workspace, moment: dt.datetime) -> None:
    with freeze_time(moment):
        asyncio.run(FreshnessDaemon()._evaluate_assets(workspace))


@pytest.mark.parametrize(
    ("hours_later", "expected"),
    [(25, FreshnessState.PASS), (27, FreshnessState.FAIL)],
)
def test_a_consumer_table_overdue_after_26_hours_is_reported(monkeypatch, hours_later, expected):
    monkeypatch.delenv("FRESHNESS_HOURS", raising=False)
    freshness = yaml.safe_load(DAGSTER_YAML.read_text())["freshness"]
    assert freshness == {"enabled": True}, "dagster.yaml must turn the freshness daemon on"
    origin = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(module_name="orchestration.definitions"),
        location_name="customer_intel",
    )
    with instance_for_test(overrides={"freshness": freshness}) as instance:
        with freeze_time(MATERIALIZED_AT):
            for key in (CONSUMER, NOT_A_CONSUMER):
                instance.report_runless_asset_event(AssetMaterialization(key))
        with create_test_daemon_workspace_context(
            InProcessWorkspaceLoadTarget(origin), instance
        ) as workspace:
            _evaluate_at(workspace, MATERIALIZED_AT + dt.timedelta(hours=hours_later))
        states = _states(instance, (CONSUMER, NOT_A_CONSUMER))
    assert states[CONSUMER] == expected
    # Tables only the pipeline reads have no policy: never reported overdue.
    assert states.get(NOT_A_CONSUMER, FreshnessState.NOT_APPLICABLE) in (
        FreshnessState.NOT_APPLICABLE,
    )
