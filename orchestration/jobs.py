"""Jobs of the code location.

``refresh`` is "everything now" (ingest, rebuild, retrain) for the CLI and the UI;
``nightly`` is the same without training (the scores use the current champions; training
follows its own cadence, see orchestration/automation.py), without what follows training
(the demo truth's comparison, which describes the horizon after the data's end that a new
day moves away from) and without the migration marts,
which read nothing but the history: the history job that follows a run rebuilds them after
its new snapshot (orchestration/history.py), so rebuilding them before it would only redo
yesterday's tables; ``ingest`` loads new landing
files and leaves the rest to the eager automation conditions. Every job that writes the
warehouse carries the run tag of the run-level guard (dagster.yaml limits it to one run at
a time), so two refreshes never interleave.
"""

from __future__ import annotations

from dagster import (
    AssetKey,
    AssetSelection,
    define_asset_job,
    in_process_executor,
)

from assets.models import decay_check_key, train_models_asset
from assets.segment_models import SEGMENT_DRIFT_CHECKS, SEGMENT_MODEL_KEYS
from assets.truth_evaluation import truth_evaluation
from orchestration.automation import MIGRATION_MARTS, RUN_GUARD_TAG, RUN_GUARD_VALUE
from pipeline.modelling.decay import MONITORED_MODELS

WRITER_TAGS = {RUN_GUARD_TAG: RUN_GUARD_VALUE}
# Everything fitted and registered on the training cadence: the churn and propensity models
# with their report, and the segment models (the nightly labels with their champions).
TRAINING_KEYS = {*train_models_asset.keys, *SEGMENT_MODEL_KEYS}
TRAINING = AssetSelection.assets(*TRAINING_KEYS)
# What follows a training run, with the scores of its champions.
AFTER_TRAINING_KEYS = set(truth_evaluation.keys)
AFTER_TRAINING = AssetSelection.assets(*AFTER_TRAINING_KEYS)
DECAY_CHECKS = AssetSelection.checks(
    *(decay_check_key(name) for name in MONITORED_MODELS), *SEGMENT_DRIFT_CHECKS
)
# The history's partitions are snapshot dates: its own job (orchestration/history.py)
# takes them after a refresh, on its cadence, or in a backfill.
HISTORY_SNAPSHOTS = AssetSelection.assets(AssetKey(["history", "customer_snapshots"]))


# One process for the whole run: every writing step holds the single DuckDB writer pool
# anyway, and a fresh process per step would pay the heavy imports (pandas, sklearn, GX,
# MLflow) again for every step.
def _writer_job(name: str, selection, description: str, trigger: str):
    return define_asset_job(
        name=name,
        selection=selection,
        executor_def=in_process_executor,
        description=description,
        tags={"pipeline/trigger": trigger, **WRITER_TAGS},
    )


refresh_job = _writer_job(
    "refresh",
    AssetSelection.all() - HISTORY_SNAPSHOTS,
    "Refresh every table now: ingest new files, clean, rebuild everything downstream and "
    "retrain the models.",
    "manual",
)
nightly_job = _writer_job(
    "nightly",
    (AssetSelection.all() - TRAINING - AFTER_TRAINING - HISTORY_SNAPSHOTS - MIGRATION_MARTS)
    | DECAY_CHECKS,
    "Ingest new files and rebuild everything downstream with the champion models (no "
    "training); the decay checks judge the champions on the latest horizon. The migration "
    "marts follow the next history snapshot (job history_snapshot).",
    "nightly_schedule",
)
ingest_job = _writer_job(
    "ingest",
    AssetSelection.groups("raw"),
    "Load new or changed landing files into the raw layer; the eager automation conditions "
    "rebuild what depends on it.",
    "landing_sensor",
)
score_new_customers_job = _writer_job(
    "score_new_customers",
    AssetSelection.assets(AssetKey(["marts", "prediction_log"])),
    "Score the customers in DATA_DIR/landing/new_customers/ with the champion models and "
    "append them to marts.prediction_log.",
    "manual",
)
