"""The code location: every asset, check, job, schedule, sensor and resource."""

from __future__ import annotations

import os
import warnings

from dagster import (
    BetaWarning,
    Definitions,
    EnvVar,
    load_asset_checks_from_modules,
    load_assets_from_modules,
    with_source_code_references,
)

from assets import (
    bi,
    features,
    history,
    marts,
    models,
    raw,
    scores,
    segment_models,
    segments,
    staging,
    truth_evaluation,
)
from orchestration.automation import automation_sensor, with_automation
from orchestration.history import (
    history_after_refresh,
    history_snapshot_job,
    history_snapshot_schedule,
)
from orchestration.jobs import (
    AFTER_TRAINING_KEYS,
    TRAINING_KEYS,
    ingest_job,
    nightly_job,
    refresh_job,
    score_new_customers_job,
)
from orchestration.recovery import dead_runs_sensor
from orchestration.schedules import nightly_refresh_schedule
from orchestration.sensors import (
    failure_alerts_sensor,
    landing_files_sensor,
    new_customers_sensor,
)
from pipeline.settings import Settings
from resources.data_quality import DataQuality
from resources.mlflow_tracking import tracking_from_env
from resources.sql_engine import sql_engine_from_env
from resources.warehouse import warehouse_from_env

_ASSET_MODULES = [
    raw,
    staging,
    features,
    segments,
    segment_models,
    models,
    scores,
    truth_evaluation,
    marts,
    history,
    bi,
]


def _assets():
    automated = with_automation(
        load_assets_from_modules(_ASSET_MODULES),
        Settings.from_env(),
        training_keys=TRAINING_KEYS,
        after_training_keys=AFTER_TRAINING_KEYS,
        drift_keys=segment_models.SEGMENT_MODEL_KEYS,
    )
    # Code references (a link from each asset to its source file in the UI) are a beta
    # API; their warning would be printed on every load of the code location.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BetaWarning)
        return with_source_code_references(automated)


defs = Definitions(
    assets=_assets(),
    asset_checks=load_asset_checks_from_modules(_ASSET_MODULES),
    jobs=[refresh_job, nightly_job, ingest_job, score_new_customers_job, history_snapshot_job],
    schedules=[nightly_refresh_schedule, history_snapshot_schedule],
    sensors=[
        landing_files_sensor,
        new_customers_sensor,
        failure_alerts_sensor,
        dead_runs_sensor,
        history_after_refresh,
        automation_sensor(),
    ],
    resources={
        "warehouse": warehouse_from_env(),
        "sql_engine": sql_engine_from_env(),
        "mlflow": tracking_from_env(),
        "data_quality": DataQuality(
            **{
                field: EnvVar(variable)
                for field, variable in (
                    ("freshness_reference", "FRESHNESS_REFERENCE_DATE"),
                    ("html_reports", "QUALITY_HTML_REPORTS"),
                )
                if os.environ.get(variable)
            }
        ),
    },
)
