"""Jobs of the code location."""

from __future__ import annotations

from dagster import AssetKey, AssetSelection, define_asset_job, in_process_executor

# One process for the whole run: every writing step holds the single DuckDB writer pool
# anyway, and a fresh process per step would pay the heavy imports (pandas, sklearn, GX,
# MLflow) again for every step.
refresh_job = define_asset_job(
    name="refresh",
    selection=AssetSelection.all(),
    executor_def=in_process_executor,
    description="Refresh every table: ingest new files, clean, and rebuild everything downstream.",
    tags={"pipeline/trigger": "manual"},
)

score_new_customers_job = define_asset_job(
    name="score_new_customers",
    selection=AssetSelection.assets(AssetKey(["marts", "prediction_log"])),
    executor_def=in_process_executor,
    description="Score the customers in DATA_DIR/landing/new_customers/ with the champion "
    "models and append them to marts.prediction_log.",
    tags={"pipeline/trigger": "manual"},
)
