"""Model: how far the scores can be trusted (calibration, Brier, ROC-AUC), what drives churn,
and which registered version scored the customers."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, data, ui

MODELS = {
    "Purchase propensity": "purchase_propensity",
    "Churn": "customer_churn",
    "Product categories": "product_category_propensity",
}


def _champions(snapshot: ui.Snapshot) -> None:
    champions = ui.query(snapshot, "champions")
    with st.container(key="champions"):
        columns = st.columns(len(champions) or 1)
        for column, row in zip(columns, champions.itertuples(), strict=False):
            column.metric(
                f"Champion {row.model_name}",
                f"v{row.model_version}",
                help=f"The registered version (MLflow alias champion) that wrote {row.scores}.",
            )


def _headline(evaluation: pd.DataFrame, model_name: str) -> None:
    figures = data.headline_metrics(evaluation, model_name)
    if figures["model_version"] is None:
        st.info(f"No validation figures for {model_name} in this snapshot.")
        return
    brier, auc = figures["brier"], figures["roc_auc"]
    base_brier, base_auc = figures["baseline_brier"], figures["baseline_roc_auc"]
    with st.container(key="model_metrics"):
        a, b, c = st.columns(3)
        a.metric(
            "Brier score",
            ui.number(brier, "{:.4f}"),
            delta=None if base_brier is None else f"{brier - base_brier:+.4f} vs BG/NBD",
            delta_color="inverse",
            help="Mean squared error of the probability (lower is better); the delta compares "
            "with the plain BG/NBD baseline on the same customers.",
        )
        b.metric(
            "ROC-AUC",
            ui.number(auc, "{:.3f}"),
            delta=None if base_auc is None else f"{auc - base_auc:+.3f} vs BG/NBD",
            help="Probability that a random buyer is ranked above a random non-buyer.",
        )
        c.metric("Validation customers", ui.number(figures["customers"]))
    trained, champion = figures["model_version"], figures["champion_version"]
    if trained != champion:
        st.caption(
            f"Figures of v{trained}, trained in the last refresh on held-out customers. It did "
            f"not beat champion v{champion} on the same customers, so v{champion} keeps "
            "scoring."
        )
    else:
        st.caption(f"Figures of champion v{champion} on held-out validation customers.")


def _metrics_table(evaluation: pd.DataFrame, model_name: str) -> None:
    rows = evaluation[evaluation["model_name"] == model_name]
    if rows.empty:
        return
    table = rows.pivot_table(
        index=["dataset", "candidate"], columns="metric", values="value", aggfunc="first"
    )
    wanted = ["roc_auc", "pr_auc", "brier", "log_loss", "ece", "customers", "outcome_rate"]
    table = table[[c for c in wanted if c in table.columns]].reset_index()
    st.dataframe(
        table,
        hide_index=True,
        column_config={"customers": st.column_config.NumberColumn(format="%d")},
    )
    st.caption(
        "validation: held-out customers at the cutoff (the registered model next to the BG/NBD "
        "baseline and the candidates it was chosen from); truth: on demo data, the written "
        "scores against what the customers really did."
    )


def render() -> None:
    snapshot = ui.require_snapshot()
    st.header("Model")
    with ui.friendly_errors():
        _champions(snapshot)
    label = st.radio("Model", list(MODELS), horizontal=True, key="model_choice")
    model_name = MODELS[label]
    with ui.friendly_errors():
        evaluation = ui.query(snapshot, "model_evaluation")
        _headline(evaluation, model_name)
        left, right = st.columns(2)
        with left:
            st.subheader("Calibration")
            curve = ui.query(snapshot, "calibration_curve")
            curve = curve[curve["model_name"] == model_name]
            show_all = st.toggle("Show the baseline and candidates", key="calibration_all")
            if not show_all:
                curve = curve[curve["is_registered"] | (curve["candidate"] == "bgnbd")]
            if curve.empty:
                st.info("No calibration figures for this model in the snapshot.")
            else:
                st.altair_chart(charts.calibration_chart(curve))
                st.caption(
                    "Observed rate per bin of predicted probability on the validation "
                    "customers; a calibrated model follows the dashed diagonal. Dot size: "
                    "customers in the bin."
                )
        with right:
            st.subheader("All figures")
            _metrics_table(evaluation, model_name)
    st.subheader("What drives churn")
    with ui.friendly_errors():
        coefficients = ui.query(snapshot, "churn_coefficients")
        if coefficients.empty:
            st.info("No churn coefficients in this snapshot.")
        else:
            version = coefficients["model_version"].iloc[0]
            st.caption(
                f"Coefficients of the churn champion v{version} (logistic regression on "
                "standardised features): the change in the log-odds of churning for one standard "
                "deviation of the feature. Red raises the churn risk, blue lowers it."
            )
            st.altair_chart(charts.coefficients_chart(coefficients))
