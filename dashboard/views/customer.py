"""Customer: one customer's scores, segments, action, reasons, recommendations and live
predictions."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import ui
from dashboard.views import history

SEGMENT_FIELDS = (
    ("value_segment", "Value segment"),
    ("persona", "Persona"),
    ("rfm_segment", "RFM segment"),
    ("value_style_label", "Value x style"),
    ("purchase_style", "Purchase style"),
    ("churn_risk_band", "Churn risk band"),
    ("performance", "Last horizon"),
)


def _reason_lines(reasons: pd.DataFrame, score: str) -> list[str]:
    lines = []
    for row in reasons[reasons["score"] == score].itertuples():
        value = ui.number(row.value, "{:,.4g}") if isinstance(row.value, float) else row.value
        contribution = "" if pd.isna(row.contribution) else f" ({row.contribution:+.2f})"
        lines.append(f"{row.arrow} `{row.feature}` = {value}{contribution}")
    return lines


def _profile(profile) -> None:
    summary = profile.summary
    st.subheader(f"Customer {summary['customer_id']}")
    if summary.get("country"):
        st.caption(summary["country"])
    with st.container(key="customer_scores"):
        a, b, c, d = st.columns(4)
        a.metric("Purchase probability", ui.number(summary.get("purchase_probability"), "{:.0%}"))
        b.metric("Churn risk", ui.number(summary.get("churn_risk_pct"), "{:.0f}%"))
        c.metric("Expected spend", ui.number(summary.get("expected_spend")))
        d.metric("Orders so far", ui.number(summary.get("frequency")))
    with st.container(key="customer_action"):
        action = summary.get("action") or "no action"
        channel = summary.get("action_channel")
        priority = summary.get("action_priority")
        st.success(
            f"**Action: {action}**"
            + (f" via {channel}" if channel else "")
            + (f" (priority {int(priority)})" if priority is not None else ""),
            icon=":material/campaign:",
        )
    with st.container(key="customer_segments"):
        st.markdown(
            "  \n".join(
                f"**{label}:** {summary[field]}"
                for field, label in SEGMENT_FIELDS
                if summary.get(field) is not None
            )
        )
    st.markdown("#### Top reasons")
    st.caption("▲ pushes the score up, ▼ pushes it down (contribution to the model's logit).")
    left, right = st.columns(2)
    for column, score, title in (
        (left, "purchase propensity", "Purchase propensity"),
        (right, "churn", "Churn risk"),
    ):
        lines = _reason_lines(profile.reasons, score)
        column.markdown(f"**{title}**")
        column.markdown("\n".join(f"- {line}" for line in lines) or "_no reasons recorded_")

    st.markdown("#### Recommended product categories")
    with st.container(key="customer_recommendations"):
        if profile.recommendations is None:
            st.info("This snapshot has no marts.product_recommendations.")
        elif profile.recommendations.empty:
            st.caption("No category reaches the recommendation threshold for this customer.")
        else:
            st.markdown(
                "\n".join(
                    f"{row.recommendation_rank}. **{row.category}**: "
                    f"{row.probability:.0%} likely in the horizon"
                    + ("" if row.bought_before else " (new category for this customer)")
                    for row in profile.recommendations.itertuples()
                )
            )

    st.markdown("#### Live predictions")
    if profile.predictions is None:
        st.info("This snapshot has no marts.prediction_log (published before live scoring).")
    elif profile.predictions.empty:
        st.caption("No live prediction logged for this customer.")
    else:
        st.dataframe(profile.predictions, hide_index=True)


def render() -> None:
    snapshot = ui.require_snapshot()
    st.header("Customer")
    with ui.friendly_errors():
        examples = ui.query(snapshot, "example_customers", 5)
        customer_id = st.text_input(
            "Customer id",
            key="customer_id",
            placeholder=f"e.g. {examples[0]}" if examples else "",
        ).strip()
        if examples:
            st.caption("Try: " + ", ".join(examples))
        if not customer_id:
            return
        profile = ui.query(snapshot, "customer_profile", customer_id)
        if profile is None:
            st.warning(f"No customer {customer_id!r} in this snapshot.")
            return
        _profile(profile)
    history.customer_timeline(snapshot, customer_id)
