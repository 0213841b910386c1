"""Live scoring: new customers in DATA_DIR/landing/new_customers/ get segments, scores and an
action from the champion models, appended to marts.prediction_log."""

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, multi_asset

from assets.common import comment_and_describe, table_key, table_spec
from assets.quality import contract_checks
from pipeline.ingest import discover_files
from pipeline.ingest.readers import SUPPORTED_SUFFIXES
from pipeline.live_scoring import ensure_prediction_log, score_with_settings
from pipeline.serving.prediction_log import fold_into_warehouse, log_path
from pipeline.settings import Settings
from resources.mlflow_tracking import ModelTracking
from resources.warehouse import WRITER_POOL, WRITER_RETRY, DuckDBWarehouse

PREDICTION_LOG = "marts.prediction_log"


@multi_asset(
    specs=[
        table_spec(
            PREDICTION_LOG,
            group="marts",
            deps=[
                "features.customer_rfm",
                "scores.churn",
                "scores.propensity",
                "segments.customer_value",
                "segments.personas",
                "segments.purchase_style",
            ],
            kinds=("duckdb", "scikitlearn", "mlflow"),
        )
    ],
    pool=WRITER_POOL,
    retry_policy=WRITER_RETRY,
    name="prediction_log",
)
def prediction_log(
    context: AssetExecutionContext, warehouse: DuckDBWarehouse, mlflow: ModelTracking
):
    """Score the customers of new files in DATA_DIR/landing/new_customers/ with
    models:/NAME@champion (no refit) and append each prediction to the log; customers
    already logged from the same input are not scored again. Then fold in the HTTP API's
    own log (DATA_DIR/api/prediction_log.sqlite): its predictions not in the table yet."""
    settings = Settings.from_env()
    files = discover_files(
        settings.new_customers_dir, recursive=False, skip_folders=(), suffixes=SUPPORTED_SUFFIXES
    )
    with warehouse.writer() as connection:
        ensure_prediction_log(connection)
        report = None
        if files:
            report = score_with_settings(
                connection,
                files,
                settings,
                client=mlflow.client(),
                tracking_uri=mlflow.resolved_tracking_uri,
            )
        api_folded = fold_into_warehouse(connection, log_path(settings.data_dir))
        metadata = comment_and_describe(connection, PREDICTION_LOG)
    metadata["api_predictions_folded"] = api_folded
    metadata["files_seen"] = len(files)
    metadata["customers_scored_this_run"] = report.scored if report else 0
    metadata["already_scored"] = report.already_scored if report else 0
    metadata["scoring_seconds"] = round(report.seconds, 2) if report else 0.0
    metadata["input_folder"] = MetadataValue.path(str(settings.new_customers_dir))
    context.log.info(
        "scored %d new customers from %d files",
        metadata["customers_scored_this_run"],
        len(files),
    )
    yield MaterializeResult(asset_key=table_key(PREDICTION_LOG), metadata=metadata)


gx_checks = contract_checks(prediction_log)
