"""Segments: the value x purchase-style matrix, personas, RFM segments, recency and revenue."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, data, ui

SUMMARY_COLUMNS = {
    "customers": st.column_config.NumberColumn(format="%d"),
    "revenue": st.column_config.NumberColumn(format="%.0f"),
    "revenue_share": st.column_config.NumberColumn("revenue share", format="percent"),
    "avg_recency_days": st.column_config.NumberColumn("avg recency (days)", format="%.0f"),
    "avg_frequency": st.column_config.NumberColumn("avg orders", format="%.1f"),
    "avg_monetary": st.column_config.NumberColumn("avg spend", format="%.0f"),
    "avg_churn_risk_pct": st.column_config.NumberColumn("avg churn risk %", format="%.1f"),
    "avg_purchase_probability": st.column_config.NumberColumn("avg P(purchase)", format="%.2f"),
    "expected_spend": st.column_config.NumberColumn("expected spend", format="%.0f"),
}


def _summary(snapshot: ui.Snapshot, segment_type: str, title: str, revenue: bool) -> None:
    summary = ui.query(snapshot, "segment_summary", segment_type)
    if summary.empty:
        st.info(f"No {title.lower()} in this snapshot.")
        return
    if revenue:
        size, money = st.columns(2)
        size.altair_chart(charts.segment_bars(summary, "customers", "customers"))
        money.altair_chart(charts.segment_bars(summary, "revenue", "revenue (net spend)"))
    else:
        st.altair_chart(charts.segment_bars(summary, "customers", "customers"))
    st.dataframe(summary, hide_index=True, column_config=SUMMARY_COLUMNS)


def render() -> None:
    snapshot = ui.require_snapshot()
    st.header("Segments")
    with ui.friendly_errors():
        st.subheader("Value x purchase style")
        cells = ui.query(snapshot, "value_style_matrix")
        chart, table = st.columns([3, 2])
        chart.altair_chart(charts.matrix_chart(cells))
        table.dataframe(data.matrix_counts(cells))
        table.caption(
            "Customers per value segment (k-means on recency, frequency, spend) and purchase "
            "style (Regular, Bulk, Anomaly); each cell's business label is in the chart."
        )
    with ui.friendly_errors():
        st.subheader("Personas")
        _summary(snapshot, "persona", "Personas", revenue=False)
    with ui.friendly_errors():
        st.subheader("RFM segments")
        _summary(snapshot, "rfm_segment", "RFM segments", revenue=True)
    recency, revenue = st.columns(2)
    with recency, ui.friendly_errors():
        st.subheader("Recency")
        histogram = ui.query(snapshot, "recency_histogram", 30)
        st.altair_chart(charts.recency_chart(histogram))
        st.caption("Customers by days since their last purchase, in 30-day bins.")
    with revenue, ui.friendly_errors():
        st.subheader("Monthly revenue")
        monthly = ui.query(snapshot, "monthly_revenue")
        st.altair_chart(charts.monthly_revenue_chart(monthly))
        st.caption("Bars: revenue; line: net of returns.")
