"""Targeting: who is likely to buy, who did worse than predicted, and the list to export."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, data, ui

PROPENSITY_KEY = "min_propensity"
SHORTFALL_KEY = "min_shortfall"


def _shortfall_label(value: float) -> str:
    return "any" if value == 0 else f"≥ {value:,.0f}"


def render() -> None:
    snapshot = ui.require_snapshot()
    st.header("Targeting")
    with ui.friendly_errors():
        horizon = ui.query(snapshot, "horizon_days")
        horizon_text = f"{horizon}-day horizon" if horizon else "the horizon"
        st.caption(
            f"Each dot is a customer: orders so far (x) and the model's probability of a "
            f"purchase in the {horizon_text} (y). Colour: how the customer did against the "
            "prediction on the last complete horizon (blue over-performer, yellow accurate, "
            "red under-performer: spent less than predicted). Customers outside the filters "
            "are faded."
        )
        everyone = ui.query(snapshot, "targeting_frame")
        left, right = st.columns(2)
        min_propensity = left.slider(
            "Minimum purchase propensity",
            min_value=0.0,
            max_value=1.0,
            value=0.0,
            step=0.05,
            format="%.2f",
            key=PROPENSITY_KEY,
            help="Keep customers whose P(purchase in the horizon) is at least this.",
        )
        min_shortfall = right.select_slider(
            "Minimum shortfall (predicted minus actual spend, last horizon)",
            options=data.shortfall_steps(everyone),
            value=0.0,
            format_func=_shortfall_label,
            key=SHORTFALL_KEY,
            help="Keep customers who spent at least this much less than predicted on the last "
            "complete horizon; 'any' keeps everyone, including customers too new to assess.",
        )
        frame = ui.query(snapshot, "targeting_frame", min_propensity, min_shortfall or None)
        chosen = data.selection(frame)

        count_column, download_column = st.columns([1, 2], vertical_alignment="bottom")
        with count_column.container(key="matching_count"):
            st.metric(
                "Customers matching",
                f"{len(chosen):,}",
                help=f"Out of {len(frame):,} customers in the snapshot.",
            )
        download_column.download_button(
            "Download selection (CSV)",
            data=data.selection_csv(frame),
            file_name="target_customers.csv",
            mime="text/csv",
            key="download_selection",
            on_click="ignore",
            icon=":material/download:",
            disabled=chosen.empty,
        )
        if len(frame) > charts.MAX_POINTS:
            st.caption(
                f"The chart shows a sample of {charts.MAX_POINTS:,} of {len(frame):,} "
                "customers; the count and the download cover all of them."
            )
        st.altair_chart(charts.targeting_scatter(frame, min_propensity, horizon_text))
        st.subheader("Selected customers")
        st.dataframe(
            chosen,
            hide_index=True,
            column_config={
                "purchase_probability": st.column_config.NumberColumn("P(purchase)", format="%.2f"),
                "shortfall": st.column_config.NumberColumn(format="%.0f"),
                "expected_spend": st.column_config.NumberColumn(format="%.0f"),
                "monetary": st.column_config.NumberColumn(format="%.0f"),
            },
        )
