"""Declarative automation and freshness, applied in one place to the asset definitions.

- The raw layer is started by the landing sensor or the nightly schedule (new files).
- Everything downstream of it is **eager**: it materializes when an upstream asset updated
  and none is missing or in progress, so a new file flows through staging, features,
  segments, the scores (with the current champions), marts, exports and the BI snapshot.
  Training is not part of that.
- **Training** (``train_models`` and the segment models) runs on ``RETRAIN_CRON`` (default
  Sunday 03:00) on the data of that moment, when no model exists yet (a fresh machine),
  and on demand; ``train_models`` also when a champion's decay check newly fails, a
  segment model when its drift check does (the customers' shares over its labels moved
  beyond the tolerance since its fit: pipeline/segmentation/drift.py).
- What follows training (the demo truth's comparison of the written scores) runs after a
  training run, not after every new day.
- What consumers read (marts, exports, the BI snapshot) carries a freshness policy: overdue
  after ``FRESHNESS_HOURS`` (default 26 h) without a materialization.

The automation-condition sensor evaluates the conditions every 30 s; the UI's Automation tab
shows for each asset why it was or was not requested.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from dagster import (
    AssetKey,
    AssetsDefinition,
    AssetSelection,
    AssetSpec,
    AutomationCondition,
    AutomationConditionSensorDefinition,
    DefaultSensorStatus,
    FreshnessPolicy,
)

from pipeline.settings import Settings

# Assets started by a sensor or a schedule, not by their upstreams.
TRIGGERED_GROUPS = {"raw"}
TRIGGERED_ASSETS = {("marts", "prediction_log")}  # live scoring: the new_customers sensor
CONSUMER_SCHEMAS = {"marts", "exports", "bi"}
RUN_GUARD_TAG = "pipeline/warehouse_writer"
RUN_GUARD_VALUE = "true"

EAGER = AutomationCondition.eager()
# The history's daily partitions are snapshot dates, taken by its sensor, schedule or a
# backfill (orchestration/history.py), never eagerly. What reads it ignores the dates never
# taken: the migration marts follow each new snapshot, the BI snapshot does not wait for one.
HISTORY_SNAPSHOTS = AssetKey(["history", "customer_snapshots"])
MIGRATION_MARTS = AssetSelection.assets(
    AssetKey(["marts", "segment_transitions"]), AssetKey(["marts", "customer_movements"])
)
AFTER_HISTORY = EAGER.without(~AutomationCondition.any_deps_missing()).with_label(
    "eager, allowing snapshot dates never taken"
)
EAGER_BESIDE_HISTORY = (
    EAGER.ignore(AssetSelection.assets(HISTORY_SNAPSHOTS) | MIGRATION_MARTS)
    | (
        AutomationCondition.any_deps_updated().allow(MIGRATION_MARTS).since_last_handled()
        & ~AutomationCondition.any_deps_in_progress()
        & ~AutomationCondition.in_progress()
    ).with_label("a migration mart updated")
).with_label("eager; after a new snapshot, once the migration marts are rebuilt")
# The live-scoring log is appended by its sensor's job; automation only creates it (empty)
# when it is missing, so the BI snapshot, which publishes it, is not held up on a new machine.
CREATE_WHEN_MISSING = (
    AutomationCondition.missing()
    & ~AutomationCondition.execution_failed()
    & ~AutomationCondition.any_deps_missing()
    & ~AutomationCondition.any_deps_in_progress()
    & ~AutomationCondition.in_progress()
).with_label("create when missing")
# The decay check is the models' only blocking check (the challenger check is not).
CHAMPION_DECAYED = (
    AutomationCondition.any_checks_match(AutomationCondition.check_failed(), blocking_only=True)
    .newly_true()
    .since_last_handled()
    .with_label("champion decay check newly failed")
)


# The segment models' only checks are their drift checks, which judge the table their
# champion labelled (downstream of the model, so they cannot be blocking).
SEGMENTS_DRIFTED = (
    AutomationCondition.any_checks_match(AutomationCondition.check_failed(), blocking_only=False)
    .newly_true()
    .since_last_handled()
    .with_label("segment shares drifted since the champion's fit")
)


def retrain_condition(settings: Settings, decayed: AutomationCondition = CHAMPION_DECAYED):
    """Train on the cron once the inputs updated since its tick, when a champion decayed
    (``decayed``), or when no model exists yet; never while training or an input is in
    progress."""
    on_decay = (
        decayed
        & ~AutomationCondition.any_deps_missing()
        & ~AutomationCondition.any_deps_in_progress()
    ).with_label("champion decayed")
    on_cron = (
        AutomationCondition.cron_tick_passed(settings.retrain_cron, settings.timezone)
        .since_last_handled()
        .with_label(f"RETRAIN_CRON {settings.retrain_cron} ({settings.timezone}) passed")
        & ~AutomationCondition.any_deps_missing()
        & ~AutomationCondition.any_deps_in_progress()
    )
    # No model yet (a fresh machine): train once the inputs exist; after a failed attempt,
    # wait for the next trigger instead of retrying every tick.
    no_model = (
        AutomationCondition.missing()
        & ~AutomationCondition.execution_failed()
        & ~AutomationCondition.any_deps_missing()
        & ~AutomationCondition.any_deps_in_progress()
    ).with_label("no model yet")
    return ((on_cron | on_decay | no_model) & ~AutomationCondition.in_progress()).with_label(
        "retrain: RETRAIN_CRON passed, a champion decayed, or no model yet"
    )


def after_training_condition(training_keys: set[AssetKey]) -> AutomationCondition:
    """Once a training output updated (or will in this tick), when nothing it reads is
    missing or in progress."""
    return (
        AutomationCondition.any_deps_updated()
        .allow(AssetSelection.assets(*training_keys))
        .since_last_handled()
        & ~AutomationCondition.any_deps_missing()
        & ~AutomationCondition.any_deps_in_progress()
        & ~AutomationCondition.in_progress()
    ).with_label("after a training run")


def freshness_policy(settings: Settings) -> FreshnessPolicy:
    hours = settings.freshness_hours
    return FreshnessPolicy.time_window(fail_window=dt.timedelta(hours=hours))


def with_automation(
    assets: Iterable[AssetsDefinition],
    settings: Settings,
    training_keys: set[AssetKey],
    drift_keys: set[AssetKey] = frozenset(),
    after_training_keys: set[AssetKey] = frozenset(),
) -> list[AssetsDefinition]:
    """``assets`` with their automation condition and, for what consumers read, a freshness
    policy. ``training_keys``: the assets training writes (they follow its cron);
    ``drift_keys``: those of them whose decay signal is a drift check (the segment models);
    ``after_training_keys``: assets that follow a training run rather than each new day."""
    retrain = retrain_condition(settings)
    after_training = after_training_condition(training_keys)
    retrain_on_drift = retrain_condition(settings, SEGMENTS_DRIFTED)
    policy = freshness_policy(settings)

    def apply(spec: AssetSpec) -> AssetSpec:
        path = tuple(spec.key.path)
        history_deps = any(dep.asset_key == HISTORY_SNAPSHOTS for dep in spec.deps)
        if spec.key in drift_keys:
            condition = retrain_on_drift
        elif spec.key in training_keys:
            condition = retrain
        elif spec.key in after_training_keys:
            condition = after_training
        elif spec.key == HISTORY_SNAPSHOTS:
            condition = None
        elif history_deps:
            condition = AFTER_HISTORY if path[0] == "marts" else EAGER_BESIDE_HISTORY
        elif path in TRIGGERED_ASSETS:
            condition = CREATE_WHEN_MISSING
        elif spec.group_name in TRIGGERED_GROUPS:
            condition = None
        else:
            condition = EAGER
        # Training outputs (models, scores.horizon_predictions, the model report) follow the
        # weekly cadence, not the day's.
        consumed = path[0] in CONSUMER_SCHEMAS and path not in TRIGGERED_ASSETS
        fresh = policy if consumed and spec.key not in training_keys else None
        return spec.replace_attributes(automation_condition=condition, freshness_policy=fresh)

    return [a.map_asset_specs(apply) for a in assets]


def automation_sensor() -> AutomationConditionSensorDefinition:
    return AutomationConditionSensorDefinition(
        name="automation",
        target=AssetSelection.all(),
        default_status=DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=30,
        run_tags={RUN_GUARD_TAG: RUN_GUARD_VALUE, "pipeline/trigger": "automation"},
        emit_backfills=False,
        description="Evaluates the assets' automation conditions: eager downstream of the "
        "raw layer, training on RETRAIN_CRON, on a champion's decay or when no model exists.",
    )
