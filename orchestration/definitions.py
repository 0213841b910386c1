"""The code location: every asset, check, job, schedule, sensor and resource."""

from __future__ import annotations

from dagster import Definitions, load_asset_checks_from_modules, load_assets_from_modules

from assets import (
    bi,
    features,
    marts,
    model_marts,
    models,
    raw,
    scoring,
    segments,
    serving,
    staging,
)
from orchestration.jobs import refresh_job, score_new_customers_job
from orchestration.recovery import dead_runs_sensor
from orchestration.schedules import nightly_refresh_schedule
from orchestration.sensors import landing_files_sensor, new_customers_sensor
from resources.data_quality import DataQuality
from resources.mlflow_tracking import ModelTracking
from resources.warehouse import warehouse_from_env

_ASSET_MODULES = [
    raw,
    staging,
    features,
    segments,
    models,
    marts,
    model_marts,
    scoring,
    serving,
    bi,
]

defs = Definitions(
    assets=load_assets_from_modules(_ASSET_MODULES),
    asset_checks=load_asset_checks_from_modules(_ASSET_MODULES),
    jobs=[refresh_job, score_new_customers_job],
    schedules=[nightly_refresh_schedule],
    sensors=[landing_files_sensor, new_customers_sensor, dead_runs_sensor],
    resources={
        "warehouse": warehouse_from_env(),
        "mlflow": ModelTracking(),
        "data_quality": DataQuality(),
    },
)
