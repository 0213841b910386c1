"""Models layer: churn, purchase propensity and product-category propensity, trained out of
time, tracked and registered in MLflow, scored with the registered champions; plus
marts.underperformers (predicted vs actual on the last complete horizon), which needs the
propensity model's out-of-fold predictions from the same training."""

import datetime as dt
import time

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    Config,
    MaterializeResult,
    MetadataValue,
    asset_check,
    multi_asset,
)
from pydantic import Field

from assets.common import comment_and_describe, markdown_rows, table_key, table_spec
from assets.quality import contract_checks
from pipeline.features import default_as_of
from pipeline.modelling.churn import MODEL as CHURN_CANDIDATE
from pipeline.modelling.churn import coefficients_summary, score_churn
from pipeline.modelling.demo_truth import (
    CHURN_SCORES,
    PRODUCT_SCORES,
    PROPENSITY_SCORES,
    compare_with_truth,
    load_truth,
)
from pipeline.modelling.evaluation import metrics_markdown
from pipeline.modelling.model_report import (
    TRUTH,
    calibration_rows,
    coefficient_rows,
    metric_rows,
    validation_rows,
)
from pipeline.modelling.model_runs import (
    RegisteredModel,
    run_churn,
    run_product_propensity,
    run_propensity,
)
from pipeline.modelling.performance import (
    DEFAULT_TOLERANCE_SHARE,
    classify_performance,
    typical_order_value,
)
from pipeline.modelling.product_propensity import MODEL as PRODUCT_CANDIDATE
from pipeline.modelling.product_propensity import NoCategoryToModel, score_product_propensity
from pipeline.modelling.propensity import FINAL as PROPENSITY_CANDIDATE
from pipeline.modelling.propensity import out_of_fold_predictions, score_propensity
from pipeline.modelling.score_tables import empty_frame, replace_table
from pipeline.modelling.tracking import local_path
from pipeline.modelling.training_frames import (
    build_training_data,
    resolve_snapshot,
    resolve_windows,
    scoring_frame,
)
from pipeline.settings import Settings
from pipeline.sql_text import one_row, qualified
from resources.mlflow_tracking import ModelTracking
from resources.warehouse import WRITER_POOL, DuckDBWarehouse

CHURN, PROPENSITY, PRODUCT = "scores.churn", "scores.propensity", "scores.product_propensity"
UNDERPERFORMERS = "marts.underperformers"
# How good the models are, for BI and the dashboard (pipeline/modelling/model_report.py).
EVALUATION, CALIBRATION = "scores.model_evaluation", "scores.calibration_curve"
COEFFICIENTS = "scores.churn_coefficients"
REPORT_TABLES = (EVALUATION, CALIBRATION, COEFFICIENTS)
MODEL_INPUTS = (
    "features.customer_rfm",
    "features.product_categories",
    "staging.transactions",
    "staging.returns",
)
MODEL_KINDS = ("duckdb", "mlflow", "scikitlearn")
CHALLENGER_CHECK = "challenger_beats_champion"


class ModelConfig(Config):
    horizon_days: int | None = Field(
        default=None, description="Prediction horizon in days; default HORIZON_DAYS (90)."
    )
    cutoff_date: str | None = Field(
        default=None,
        description="Evaluation cutoff YYYY-MM-DD (features before it, labels from the horizon "
        "after it); default: the snapshot minus the horizon (the last complete horizon).",
    )
    training_windows: int = Field(
        default=12, description="Earlier windows stacked for training (0: the cutoff only)."
    )
    window_step_days: int = Field(default=30, description="Days between training windows.")
    validation_share: float = Field(
        default=0.3, description="Share of the cutoff's customers held out for validation."
    )
    max_categories: int = Field(default=12, description="Product categories to model.")
    underperformer_tolerance: float = Field(
        default=DEFAULT_TOLERANCE_SHARE,
        description="Relative tolerance of predicted vs actual spend (see marts.underperformers).",
    )
    random_seed: int = Field(default=42, description="Seed of the split and the models.")


def _model_windows(connection, settings: Settings, config: ModelConfig):
    snapshot = resolve_snapshot(connection, settings.as_of)
    cutoff = None
    if config.cutoff_date:
        try:
            cutoff = dt.datetime.combine(dt.date.fromisoformat(config.cutoff_date), dt.time())
        except ValueError as error:
            raise ValueError(
                f"cutoff_date must be a date YYYY-MM-DD, got {config.cutoff_date!r}"
            ) from error
    return resolve_windows(
        snapshot,
        config.horizon_days or settings.horizon_days,
        cutoff=cutoff,
        training_windows=config.training_windows,
        window_step_days=config.window_step_days,
    )


def _model_metadata(registered: RegisteredModel) -> dict:
    plot_uri = registered.calibration_plot_uri
    plot_path = local_path(plot_uri)
    return {
        "model": f"{registered.name} v{registered.scorer_version} (champion, scored)",
        "challenger": registered.decision.summary,
        "mlflow_run_id": registered.logged.run_id,
        "calibration_plot": (
            MetadataValue.path(str(plot_path)) if plot_path else MetadataValue.url(plot_uri)
        ),
        "mlflow_seconds": MetadataValue.md(
            ", ".join(f"{k} {v:.1f} s" for k, v in registered.seconds.items())
        ),
    }


def _challenger_check(table: str, registered: RegisteredModel | None, note: str = ""):
    if registered is None:
        return AssetCheckResult(
            asset_key=table_key(table),
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
        asset_key=table_key(table),
        check_name=CHALLENGER_CHECK,
        passed=decision.promoted,
        severity=AssetCheckSeverity.WARN,
        metadata=metadata,
    )


def _frame_markdown(frame: pd.DataFrame, limit: int = 15) -> str:
    rows = frame.head(limit).round(4).itertuples(index=False)
    return markdown_rows(list(rows), list(frame.columns))


def _model_report(
    windows, validated, *, truth, churn_champion: RegisteredModel
) -> dict[str, pd.DataFrame]:
    """The rows of scores.model_evaluation, scores.calibration_curve and
    scores.churn_coefficients from what the run computed: ``validated`` and ``truth`` are
    (registered model, training or metrics frame, name of the registered predictions)."""
    evaluation, calibration = [], []
    for registered, training, candidate in validated:
        evaluation.append(
            validation_rows(
                training.evaluation,
                model_name=registered.name,
                model_version=registered.decision.version,
                champion_version=registered.scorer_version,
                registered=candidate,
                cutoff=windows.cutoff,
            )
        )
        calibration.append(
            calibration_rows(
                training.evaluation,
                model_name=registered.name,
                model_version=registered.decision.version,
                registered=candidate,
            )
        )
    for registered, table, candidate in truth:
        evaluation.append(
            metric_rows(
                table,
                model_name=registered.name,
                model_version=registered.scorer_version,
                champion_version=registered.scorer_version,
                registered=candidate,
                dataset=TRUTH,
                window_start=windows.snapshot,
            )
        )
    return {
        EVALUATION: pd.concat(evaluation, ignore_index=True),
        CALIBRATION: pd.concat(calibration, ignore_index=True),
        COEFFICIENTS: coefficient_rows(
            churn_champion.scorer,
            model_name=churn_champion.name,
            model_version=churn_champion.scorer_version,
        ),
    }


@multi_asset(
    specs=[
        table_spec(CHURN, group="models", deps=MODEL_INPUTS, kinds=MODEL_KINDS),
        table_spec(PROPENSITY, group="models", deps=MODEL_INPUTS, kinds=MODEL_KINDS),
        table_spec(PRODUCT, group="models", deps=MODEL_INPUTS, kinds=MODEL_KINDS),
        table_spec(UNDERPERFORMERS, group="marts", deps=MODEL_INPUTS),
        *(
            table_spec(table, group="models", deps=MODEL_INPUTS, kinds=("duckdb", "mlflow"))
            for table in REPORT_TABLES
        ),
    ],
    check_specs=[
        AssetCheckSpec(
            CHALLENGER_CHECK,
            asset=table_key(table),
            description="The newly trained version beat the champion on the same out-of-time "
            "validation customers (Brier score) and was promoted; a warning when the champion "
            "stays.",
        )
        for table in (CHURN, PROPENSITY, PRODUCT)
    ],
    pool=WRITER_POOL,
    name="customer_models",
)
def customer_models(
    context: AssetExecutionContext,
    config: ModelConfig,
    warehouse: DuckDBWarehouse,
    mlflow: ModelTracking,
):
    """Train churn, purchase-propensity and product-category models out of time (features
    before the cutoff, outcomes in the horizon after it), log them to MLflow, register each
    as challenger and promote it only if it beats the champion, then score every customer
    as of the snapshot with models:/NAME@champion. The writer is held only to read the
    training frames and to score and write the tables."""
    settings = Settings.from_env()
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    with warehouse.writer() as connection:
        windows = _model_windows(connection, settings, config)
        data = build_training_data(
            connection,
            windows,
            validation_share=config.validation_share,
            seed=config.random_seed,
            max_categories=config.max_categories,
        )
        data_end = default_as_of(connection)
    seconds["read training frames"] = time.perf_counter() - started

    tags = {"dagster_run_id": context.run_id, "dagster_job": context.job_name}

    def timed(name, train):
        began = time.perf_counter()
        result = train()
        seconds[name] = time.perf_counter() - began
        return result

    churn, churn_model = timed(
        "churn", lambda: run_churn(data, mlflow, {**tags, "dagster_asset_key": "scores/churn"})
    )
    propensity, propensity_model = timed(
        "propensity",
        lambda: run_propensity(
            data,
            mlflow,
            {**tags, "dagster_asset_key": "scores/propensity"},
            random_state=config.random_seed,
        ),
    )
    product = product_model = None
    product_note = ""
    try:
        if not data.categories:
            raise NoCategoryToModel(
                "no product categories: the data has no stock codes/descriptions, or no "
                "category had enough buyers"
            )
        product, product_model = timed(
            "product propensity",
            lambda: run_product_propensity(
                data, mlflow, {**tags, "dagster_asset_key": "scores/product_propensity"}
            ),
        )
    except NoCategoryToModel as skipped:
        product_note = f"product propensity skipped: {skipped}; empty tables written"
        context.log.info(product_note)

    began = time.perf_counter()
    predicted = classify_performance(
        out_of_fold_predictions(data, propensity),
        typical_order=typical_order_value(data.evaluation_window),
        tolerance_share=config.underperformer_tolerance,
    )
    predicted["window_start"] = windows.cutoff
    predicted["window_end"] = windows.cutoff_end
    predicted["model_name"] = propensity_model.name
    predicted["model_version"] = f"{propensity_model.decision.version} (out-of-fold)"

    with warehouse.writer() as connection:
        categories = product_model.scorer.categories_ if product_model else ()
        scoring = scoring_frame(connection, windows, categories)
        churn_scores = score_churn(
            churn_model.scorer,
            scoring,
            windows=windows,
            model_name=churn_model.name,
            model_version=churn_model.scorer_version,
        )
        propensity_scores = score_propensity(
            propensity_model.scorer,
            scoring,
            windows=windows,
            model_name=propensity_model.name,
            model_version=propensity_model.scorer_version,
        )
        product_scores = (
            score_product_propensity(
                product_model.scorer,
                scoring,
                windows=windows,
                model_name=product_model.name,
                model_version=product_model.scorer_version,
            )
            if product_model
            else empty_frame(PRODUCT)
        )
        replace_table(connection, CHURN, churn_scores)
        replace_table(connection, PROPENSITY, propensity_scores)
        replace_table(connection, PRODUCT, product_scores)
        replace_table(connection, UNDERPERFORMERS, predicted)
        metadata = {t: comment_and_describe(connection, t) for t in (CHURN, PROPENSITY, PRODUCT)}
        metadata[UNDERPERFORMERS] = comment_and_describe(connection, UNDERPERFORMERS)
    seconds["score and write"] = time.perf_counter() - began

    common = {
        "as_of": windows.snapshot.isoformat(),
        "cutoff": windows.cutoff.isoformat(),
        "horizon_days": windows.horizon_days,
        "training_windows": len(data.window_starts),
        "training_rows": len(data.train),
        "validation_customers": len(data.validation),
        "step_seconds": MetadataValue.md(
            markdown_rows([(k, f"{v:.1f}") for k, v in seconds.items()], ["phase", "seconds"])
        ),
    }
    metadata[CHURN].update(common)
    metadata[CHURN].update(_model_metadata(churn_model))
    metadata[CHURN]["validation_metrics"] = MetadataValue.md(
        metrics_markdown(churn.evaluation.table())
    )
    metadata[CHURN]["coefficients"] = coefficients_summary(churn.coefficients)
    metadata[CHURN]["coefficient_table"] = MetadataValue.md(_frame_markdown(churn.coefficients))

    metadata[PROPENSITY].update(common)
    metadata[PROPENSITY].update(_model_metadata(propensity_model))
    metadata[PROPENSITY]["selected_candidate"] = propensity.selected
    metadata[PROPENSITY]["model_comparison"] = MetadataValue.md(
        metrics_markdown(
            propensity.evaluation.table(),
            note={
                "bgnbd": "baseline, calendar days",
                "final": f"{propensity.selected}, calibrated",
            },
        )
    )
    metadata[PROPENSITY]["feature_importance"] = MetadataValue.md(
        _frame_markdown(propensity.importance, limit=10)
    )

    metadata[PRODUCT].update(common)
    if product_model:
        metadata[PRODUCT].update(_model_metadata(product_model))
        metadata[PRODUCT]["validation_metrics"] = MetadataValue.md(
            metrics_markdown(product.evaluation.table())
        )
        metadata[PRODUCT]["category_metrics"] = MetadataValue.md(
            _frame_markdown(product.per_category[["category", "roc_auc", "brier", "outcome_rate"]])
        )
    else:
        metadata[PRODUCT]["note"] = product_note

    counts = predicted["performance"].value_counts()
    metadata[UNDERPERFORMERS].update(
        {
            "window": f"{windows.cutoff:%Y-%m-%d} .. {windows.cutoff_end:%Y-%m-%d}",
            "performance": MetadataValue.md(
                markdown_rows(sorted(counts.items()), ["performance", "customers"])
            ),
            "thresholds": (
                f"tolerance = max({config.underperformer_tolerance} x predicted_spend, "
                f"{typical_order_value(data.evaluation_window):.2f} median net order value)"
            ),
        }
    )

    truth, truth_note = load_truth(settings.demo_dir, windows, data_end)
    if truth is not None:
        comparison = compare_with_truth(
            truth,
            scoring,
            propensity_scores,
            churn_scores,
            product_scores if product_model else None,
            windows.horizon_days,
        )
        metadata[PROPENSITY]["truth_comparison"] = MetadataValue.md(
            metrics_markdown(comparison.propensity)
            + "\n\nspend in the horizon:\n\n"
            + _frame_markdown(comparison.spend.reset_index())
        )
        metadata[CHURN]["truth_comparison"] = MetadataValue.md(metrics_markdown(comparison.churn))
        if comparison.product is not None:
            metadata[PRODUCT]["truth_comparison"] = MetadataValue.md(
                metrics_markdown(comparison.product)
            )
    metadata[PROPENSITY]["truth_note"] = truth_note

    report = _model_report(
        windows,
        [
            (churn_model, churn, CHURN_CANDIDATE),
            (propensity_model, propensity, PROPENSITY_CANDIDATE),
            *([(product_model, product, PRODUCT_CANDIDATE)] if product_model else []),
        ],
        truth=(
            [
                (churn_model, comparison.churn, CHURN_SCORES),
                (propensity_model, comparison.propensity, PROPENSITY_SCORES),
                *(
                    [(product_model, comparison.product, PRODUCT_SCORES)]
                    if comparison.product is not None and product_model
                    else []
                ),
            ]
            if truth is not None
            else []
        ),
        churn_champion=churn_model,
    )
    with warehouse.writer() as connection:
        for table, frame in report.items():
            replace_table(connection, table, frame)
            metadata[table] = comment_and_describe(connection, table)
    metadata[EVALUATION]["champions"] = MetadataValue.md(
        markdown_rows(
            [
                (m.name, m.scorer_version, m.decision.version, m.decision.summary)
                for m in (churn_model, propensity_model, product_model)
                if m is not None
            ],
            ["model", "champion (scored)", "trained in this run", "decision"],
        )
    )

    for table in (CHURN, PROPENSITY, PRODUCT, UNDERPERFORMERS, *REPORT_TABLES):
        yield MaterializeResult(asset_key=table_key(table), metadata=metadata[table])
    yield _challenger_check(CHURN, churn_model)
    yield _challenger_check(PROPENSITY, propensity_model)
    yield _challenger_check(PRODUCT, product_model, product_note)


# -- checks ------------------------------------------------------------------------------------


def _customers_in_features(connection) -> int:
    (count,) = one_row(connection, "SELECT count(*) FROM features.customer_rfm")
    return int(count)


def _customer_scores_check(table: str, name: str):
    """A blocking check that ``table`` has one row per customer of features.customer_rfm
    (nulls and ranges are in the table's contract and its GX check)."""

    @asset_check(
        asset=table_key(table),
        name=name,
        blocking=True,
        description="One row per customer of features.customer_rfm.",
    )
    def check(warehouse: DuckDBWarehouse) -> AssetCheckResult:
        with warehouse.reader() as connection:
            rows, customers = one_row(
                connection,
                f"SELECT count(*), count(DISTINCT customer_id) FROM {qualified(table)}",
            )
            expected = _customers_in_features(connection)
        return AssetCheckResult(
            passed=bool(rows == customers == expected),
            metadata={
                "rows": rows,
                "distinct_customers": customers,
                "customers_in_features": expected,
            },
        )

    return check


churn_scores_valid = _customer_scores_check(CHURN, "churn_scores_valid")
propensity_scores_valid = _customer_scores_check(PROPENSITY, "propensity_scores_valid")


@asset_check(asset=table_key(EVALUATION), name="model_report_consistent", blocking=False)
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


gx_checks = contract_checks(customer_models)
