"""Models layer: training, and the decay signal that asks for it.

``train_models`` fits churn, purchase propensity and product-category propensity out of
time, tracks and registers them in MLflow (assets ``models/<registered model>``), and lets
a new version take ``champion`` only if it beats the champion on the same data. It also
writes what only a training run knows, in the scores schema: the out-of-fold predictions
of the last complete horizon (scores.horizon_predictions, which marts.underperformers
classifies) and the model report tables. It runs weekly (RETRAIN_CRON), when a champion
decays, or on demand. The score tables are built on every refresh by assets/scores.py.
The logic lives in :mod:`pipeline.modelling`."""

import time

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    AutomationCondition,
    MaterializeResult,
    MetadataValue,
    asset_check,
    multi_asset,
    multi_asset_check,
)

from assets.common import (
    OWNERS,
    comment_and_describe,
    frame_markdown,
    markdown_rows,
    table_key,
    table_spec,
)
from assets.model_config import ModelConfig, model_windows
from assets.quality import contract_checks
from pipeline.catalog.writer import replace_table
from pipeline.model_registry import champion_uri
from pipeline.modelling.champion_scoring import SCORE_TABLES, scoring_windows
from pipeline.modelling.churn import coefficients_summary
from pipeline.modelling.decay import MONITORED_MODELS, champion_decay
from pipeline.modelling.evaluation import metrics_markdown
from pipeline.modelling.model_runs import (
    CHURN_MODEL,
    PRODUCT_MODEL,
    PROPENSITY_MODEL,
    RegisteredModel,
)
from pipeline.modelling.model_training import (
    REPORT_TABLES,
    TrainedModels,
    horizon_prediction_rows,
    report_tables,
    train_models,
)
from pipeline.modelling.tracking import local_path
from pipeline.modelling.training_frames import build_training_data
from pipeline.settings import Settings
from pipeline.sql_text import one_row
from resources.mlflow_tracking import ModelTracking
from resources.warehouse import WRITER_POOL, WRITER_RETRY, DuckDBWarehouse

CHURN, PROPENSITY, PRODUCT = (
    SCORE_TABLES[m] for m in (CHURN_MODEL, PROPENSITY_MODEL, PRODUCT_MODEL)
)
HORIZON_PREDICTIONS = "scores.horizon_predictions"
EVALUATION = "scores.model_evaluation"
MODEL_INPUTS = (
    "features.customer_rfm",
    "features.product_categories",
    "staging.transactions",
    "staging.returns",
)
MODEL_KINDS = ("duckdb", "mlflow", "scikitlearn")
CHALLENGER_CHECK = "challenger_beats_champion"
DECAY_CHECK = "champion_not_decayed"
MODEL_DESCRIPTIONS = {
    CHURN_MODEL: "Churn model: P(no purchase in the horizon), logistic regression on "
    "standardised behaviour and BG/NBD features.",
    PROPENSITY_MODEL: "Purchase propensity: P(a purchase in the horizon), expected spend and "
    "12-month value, the best of logistic regression, gradient boosting, BG/NBD and "
    "Pareto/NBD, calibrated.",
    PRODUCT_MODEL: "Product-category propensity: P(buying each top category in the horizon), "
    "one logistic regression per category.",
}


def model_key(model_name: str) -> AssetKey:
    """The asset of a registered MLflow model: ``models/<name>``."""
    return AssetKey(["models", model_name])


def model_spec(
    model_name: str, description: str | None = None, inputs: tuple[str, ...] = MODEL_INPUTS
) -> AssetSpec:
    """The asset of a registered model trained on the tables ``inputs``."""
    return AssetSpec(
        key=model_key(model_name),
        description=(description or MODEL_DESCRIPTIONS[model_name])
        + f" A new version is registered at every training; scoring loads "
        f"{champion_uri(model_name)}.",
        group_name="models",
        deps=[table_key(t) for t in inputs],
        kinds={"mlflow", "scikitlearn"},
        owners=OWNERS,
        metadata={
            "mlflow/registered_model": model_name,
            "mlflow/scoring_uri": champion_uri(model_name),
        },
    )


def _model_metadata(registered: RegisteredModel) -> dict:
    plot_uri = registered.calibration_plot_uri
    plot_path = local_path(plot_uri)
    return {
        "champion": f"{registered.name} v{registered.scorer_version}",
        "trained_version": registered.decision.version,
        "challenger": registered.decision.summary,
        "mlflow_run_id": registered.logged.run_id,
        "calibration_plot": (
            MetadataValue.path(str(plot_path)) if plot_path else MetadataValue.url(plot_uri)
        ),
        "mlflow_seconds": MetadataValue.md(
            ", ".join(f"{k} {v:.1f} s" for k, v in registered.seconds.items())
        ),
    }


def _challenger_check(model_name: str, registered: RegisteredModel | None, note: str = ""):
    if registered is None:
        return AssetCheckResult(
            asset_key=model_key(model_name),
            check_name=CHALLENGER_CHECK,
            passed=True,
            metadata={"note": note},
        )
    decision = registered.decision
    metadata = {
        "summary": decision.summary,
        "challenger_version": decision.version,
        "challenger_brier": decision.challenger_value,
        "champion_note": registered.champion_before.note,
    }
    if decision.champion_value is not None:
        metadata["champion_brier"] = decision.champion_value
    return AssetCheckResult(
        asset_key=model_key(model_name),
        check_name=CHALLENGER_CHECK,
        passed=decision.promoted,
        severity=AssetCheckSeverity.WARN,
        metadata=metadata,
    )


def _training_metadata(trained: TrainedModels) -> dict[str, dict]:
    """Metadata of each model asset: its champion, the decision, the validation figures."""
    windows, data = trained.windows, trained.data
    common = {
        "as_of": windows.snapshot.isoformat(),
        "cutoff": windows.cutoff.isoformat(),
        "horizon_days": windows.horizon_days,
        "training_windows": len(data.window_starts),
        "training_rows": len(data.train),
        "earlier_windows_share_kept": round(data.earlier_share, 4),
        "validation_customers": len(data.validation),
        "step_seconds": MetadataValue.md(
            markdown_rows(
                [(k, f"{v:.1f}") for k, v in trained.seconds.items()], ["phase", "seconds"]
            )
        ),
    }
    churn, propensity, product = trained.churn, trained.propensity, trained.product
    metadata = {
        CHURN_MODEL: {
            **common,
            **_model_metadata(trained.churn_model),
            "validation_metrics": MetadataValue.md(metrics_markdown(churn.evaluation.table())),
            "coefficients": coefficients_summary(churn.coefficients),
            "coefficient_table": MetadataValue.md(frame_markdown(churn.coefficients)),
        },
        PROPENSITY_MODEL: {
            **common,
            **_model_metadata(trained.propensity_model),
            "selected_candidate": propensity.selected,
            "calibration": propensity.model.calibration_,
            "model_comparison": MetadataValue.md(
                metrics_markdown(
                    propensity.evaluation.table(),
                    note={
                        "bgnbd": "baseline, calendar days",
                        "pareto_nbd": "baseline, calendar days",
                        "final": f"{propensity.selected}, calibrated",
                    },
                )
            ),
            "feature_importance": MetadataValue.md(frame_markdown(propensity.importance, limit=10)),
        },
        PRODUCT_MODEL: {**common, "note": trained.product_note},
    }
    if trained.product_model:
        metadata[PRODUCT_MODEL].update(_model_metadata(trained.product_model))
        metadata[PRODUCT_MODEL]["validation_metrics"] = MetadataValue.md(
            metrics_markdown(product.evaluation.table())
        )
        metadata[PRODUCT_MODEL]["category_metrics"] = MetadataValue.md(
            frame_markdown(product.per_category[["category", "roc_auc", "brier", "outcome_rate"]])
        )
    return metadata


@multi_asset(
    specs=[
        *(model_spec(name) for name in (CHURN_MODEL, PROPENSITY_MODEL, PRODUCT_MODEL)),
        *(
            table_spec(table, group="models", deps=MODEL_INPUTS, kinds=("duckdb", "mlflow"))
            for table in (HORIZON_PREDICTIONS, *REPORT_TABLES)
        ),
    ],
    check_specs=[
        AssetCheckSpec(
            CHALLENGER_CHECK,
            asset=model_key(name),
            description="The newly trained version beat the champion on the same out-of-time "
            "validation customers (Brier score) and was promoted; a warning when the champion "
            "stays.",
        )
        for name in (CHURN_MODEL, PROPENSITY_MODEL, PRODUCT_MODEL)
    ],
    pool=WRITER_POOL,
    retry_policy=WRITER_RETRY,
    name="train_models",
)
def train_models_asset(
    context: AssetExecutionContext,
    config: ModelConfig,
    warehouse: DuckDBWarehouse,
    mlflow: ModelTracking,
):
    """Train churn, purchase-propensity and product-category models out of time (features
    before the cutoff, outcomes in the horizon after it), log them to MLflow, register each
    as challenger and promote it only if it beats the champion. Writes the model report and
    the out-of-fold predictions of the last complete horizon; the score tables are separate
    assets."""
    settings = Settings.from_env()
    started = time.perf_counter()
    with warehouse.writer() as connection:
        windows = model_windows(connection, settings, config)
        data = build_training_data(
            connection,
            windows,
            validation_share=config.validation_share,
            seed=config.random_seed,
            max_categories=config.max_categories,
            max_training_rows=config.max_training_rows,
        )
    read_seconds = time.perf_counter() - started
    trained = train_models(
        data,
        mlflow,
        {"dagster_run_id": context.run_id, "dagster_job": context.job_name},
        random_seed=config.random_seed,
        asset_keys={name: model_key(name).to_user_string() for name in SCORE_TABLES},
    )
    trained.seconds = {"read training frames": read_seconds, **trained.seconds}
    began = time.perf_counter()
    predicted = horizon_prediction_rows(trained)
    with warehouse.writer() as connection:
        tables = {HORIZON_PREDICTIONS: predicted, **report_tables(trained)}
        table_metadata = {}
        for table, frame in tables.items():
            replace_table(connection, table, frame)
            table_metadata[table] = comment_and_describe(connection, table)
    trained.seconds["report and write"] = time.perf_counter() - began
    table_metadata[HORIZON_PREDICTIONS]["window"] = (
        f"{windows.cutoff:%Y-%m-%d} .. {windows.cutoff_end:%Y-%m-%d}"
    )
    table_metadata[EVALUATION]["champions"] = MetadataValue.md(
        markdown_rows(
            [
                (m.name, m.scorer_version, m.decision.version, m.decision.summary)
                for m in trained.registered
            ],
            ["model", "champion", "trained in this run", "decision"],
        )
    )
    model_metadata = _training_metadata(trained)
    for name, metadata in model_metadata.items():
        yield MaterializeResult(asset_key=model_key(name), metadata=metadata)
    for table, metadata in table_metadata.items():
        yield MaterializeResult(asset_key=table_key(table), metadata=metadata)
    yield _challenger_check(CHURN_MODEL, trained.churn_model)
    yield _challenger_check(PROPENSITY_MODEL, trained.propensity_model)
    yield _challenger_check(PRODUCT_MODEL, trained.product_model, trained.product_note)


# -- the decay signal ------------------------------------------------------------------------


def _decay_metadata(signal) -> dict:
    metadata = {
        "reason": signal.reason,
        "champion_version": signal.champion_version or "none",
        "window": f"{signal.window_start:%Y-%m-%d} .. {signal.window_end:%Y-%m-%d}",
        "customers": signal.customers,
        "tolerance": signal.tolerance,
    }
    for name in ("validation_brier", "recent_brier", "limit"):
        if getattr(signal, name) is not None:
            metadata[name] = round(getattr(signal, name), 6)
    return metadata


# One step judges every monitored champion: they share the latest horizon's frame, the
# costliest part (a feature query over every line). Each model keeps its own check.
@multi_asset_check(
    name="champions_not_decayed",
    specs=[
        AssetCheckSpec(
            DECAY_CHECK,
            asset=model_key(model_name),
            additional_deps=[
                table_key("features.customer_rfm"),
                table_key("features.daily_orders"),
            ],
            # Blocking (with severity WARN, so it stops nothing): the training's automation
            # condition tells it from the challenger check that way
            # (orchestration/automation.py).
            blocking=True,
            # Judged again whenever the features or the champion change.
            automation_condition=AutomationCondition.eager(),
            description="The champion's Brier score on the latest complete horizon is within "
            "DECAY_TOLERANCE (default 10%) of its validation figure; a warning requests a "
            "retrain.",
        )
        for model_name in MONITORED_MODELS
    ],
    can_subset=True,
    # The window's features are built in temporary tables: the writer, in its pool.
    pool=WRITER_POOL,
)
def champions_not_decayed(
    context: AssetCheckExecutionContext, warehouse: DuckDBWarehouse, mlflow: ModelTracking
):
    selected = context.selected_asset_check_keys
    models = tuple(m for m in MONITORED_MODELS if decay_check_key(m) in selected)
    settings = Settings.from_env()
    with warehouse.writer() as connection:
        windows = scoring_windows(connection, settings.as_of, settings.horizon_days)
        signals = champion_decay(
            connection,
            windows,
            mlflow.client(),
            models,
            settings.decay_tolerance,
            kept_features=settings.decay_features_dir,
        )
    for model_name, signal in signals.items():
        yield AssetCheckResult(
            asset_key=model_key(model_name),
            check_name=DECAY_CHECK,
            passed=not signal.decayed,
            severity=AssetCheckSeverity.WARN,
            metadata=_decay_metadata(signal),
        )


def decay_check_key(model_name: str) -> AssetCheckKey:
    return AssetCheckKey(model_key(model_name), DECAY_CHECK)


# -- checks ------------------------------------------------------------------------------------


@asset_check(
    asset=table_key(EVALUATION),
    name="model_report_consistent",
    blocking=False,
    # It compares the report with the scores written after it: run once they are.
    additional_deps=[table_key(CHURN), table_key(PROPENSITY)],
)
def model_report_consistent(warehouse: DuckDBWarehouse) -> AssetCheckResult:
    """The model report matches the scores: churn and propensity each have validation
    metrics of their registered predictions with the champion that wrote scores.*, figures
    in range (AUC, Brier, ECE in [0, 1]), calibration bins in [0, 1], and the coefficients
    are the churn champion's."""
    with warehouse.reader() as connection:
        missing, out_of_range, bad_bins, coefficient_mismatch = one_row(
            connection,
            """
            SELECT
              (SELECT count(*) FROM (
                  SELECT DISTINCT model_name, model_version FROM scores.churn
                  UNION SELECT DISTINCT model_name, model_version FROM scores.propensity) s
               WHERE NOT EXISTS (
                  SELECT 1 FROM scores.model_evaluation e
                  WHERE e.model_name = s.model_name AND e.champion_version = s.model_version
                    AND e.dataset = 'validation' AND e.is_registered AND e.metric = 'brier')),
              (SELECT count(*) FROM scores.model_evaluation
               WHERE metric IN ('roc_auc', 'pr_auc', 'brier', 'ece')
                 AND NOT isnan(value) AND NOT value BETWEEN 0 AND 1),
              (SELECT count(*) FROM scores.calibration_curve
               WHERE customers <= 0 OR NOT mean_predicted BETWEEN bin_lower AND bin_upper
                  OR NOT observed_rate BETWEEN 0 AND 1),
              (SELECT count(*) FROM scores.churn_coefficients
               WHERE model_version NOT IN (SELECT model_version FROM scores.churn))
            """,
        )
    return AssetCheckResult(
        passed=bool(missing == out_of_range == bad_bins == coefficient_mismatch == 0),
        metadata={
            "scored_models_without_validation_metrics": missing,
            "metrics_out_of_range": out_of_range,
            "calibration_bins_out_of_range": bad_bins,
            "coefficients_not_of_the_churn_champion": coefficient_mismatch,
        },
    )


gx_checks = contract_checks(train_models_asset)
