"""Altair charts of the dashboard (no Streamlit import: each function returns a chart)."""

from __future__ import annotations

import altair as alt
import pandas as pd

PERFORMANCE_COLOURS = {
    "over-performer": "#1f77b4",  # blue
    "accurate": "#f2c500",  # yellow
    "under-performer": "#d62728",  # red
    "not assessed": "#9e9e9e",  # no purchase before the last complete horizon
}
LABEL_AXIS = alt.Axis(labelLimit=260, labelOverlap=False)  # every category named in full
MAX_POINTS = 5_000  # a scatter of more customers is sampled (the count and CSV are not)


def targeting_scatter(frame: pd.DataFrame, min_propensity: float, horizon: str) -> alt.Chart:
    """Customers by orders so far (x) and P(purchase) (y), coloured by how they did against
    the prediction on the last complete horizon; customers outside the filters are faded."""
    points = frame.assign(
        performance=frame["performance"].fillna("not assessed"),
        matches=frame["matches"].astype(bool),
    )
    if len(points) > MAX_POINTS:
        points = points.sample(MAX_POINTS, random_state=0)
    columns = [
        "customer_id",
        "frequency",
        "purchase_probability",
        "performance",
        "shortfall",
        "action",
        "matches",
    ]
    scatter = (
        alt.Chart(points[columns])
        .mark_circle(size=70, stroke="#333333", strokeWidth=0.3)
        .encode(
            x=alt.X(
                "frequency:Q",
                title="purchase frequency (orders so far, log scale)",
                scale=alt.Scale(type="log"),
            ),
            y=alt.Y(
                "purchase_probability:Q",
                title=f"predicted purchase propensity ({horizon})",
                scale=alt.Scale(domain=[0, 1]),
            ),
            color=alt.Color(
                "performance:N",
                title="last horizon",
                scale=alt.Scale(
                    domain=list(PERFORMANCE_COLOURS), range=list(PERFORMANCE_COLOURS.values())
                ),
            ),
            opacity=alt.condition("datum.matches", alt.value(0.9), alt.value(0.12)),
            tooltip=[
                alt.Tooltip("customer_id:N", title="customer"),
                alt.Tooltip("frequency:Q", title="orders"),
                alt.Tooltip("purchase_probability:Q", title="P(purchase)", format=".2f"),
                alt.Tooltip("performance:N"),
                alt.Tooltip("shortfall:Q", format=",.0f"),
                alt.Tooltip("action:N"),
            ],
        )
    )
    threshold = (
        alt.Chart(pd.DataFrame({"y": [min_propensity]}))
        .mark_rule(strokeDash=[6, 4], color="#555555")
        .encode(y="y:Q")
    )
    return (scatter + threshold).properties(height=460)


def calibration_chart(curve: pd.DataFrame) -> alt.Chart:
    """Observed rate against the mean prediction per bin, one line per candidate, with the
    diagonal a calibrated model follows; point size = customers in the bin."""
    diagonal = (
        alt.Chart(pd.DataFrame({"x": [0.0, 1.0], "y": [0.0, 1.0]}))
        .mark_line(strokeDash=[5, 5], color="#888888")
        .encode(x="x:Q", y="y:Q")
    )
    columns = ["candidate", "bin", "mean_predicted", "observed_rate", "customers"]
    base = alt.Chart(curve[columns]).encode(
        x=alt.X(
            "mean_predicted:Q", title="mean predicted probability", scale=alt.Scale(domain=[0, 1])
        ),
        y=alt.Y("observed_rate:Q", title="observed rate", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("candidate:N", title="predictions"),
    )
    lines = base.mark_line()
    dots = base.mark_circle().encode(
        size=alt.Size("customers:Q", title="customers", scale=alt.Scale(range=[30, 400])),
        tooltip=[
            "candidate:N",
            "bin:O",
            alt.Tooltip("mean_predicted:Q", format=".3f"),
            alt.Tooltip("observed_rate:Q", format=".3f"),
            "customers:Q",
        ],
    )
    return (diagonal + lines + dots).properties(height=420)


def coefficients_chart(coefficients: pd.DataFrame) -> alt.Chart:
    """Horizontal bars of the standardised churn coefficients, largest effect on top."""
    frame = coefficients.assign(
        effect=coefficients["coefficient"].map(
            lambda c: "raises churn risk" if c > 0 else "lowers churn risk"
        )
    )[["feature", "coefficient", "scale", "effect", "coefficient_rank"]]
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("coefficient:Q", title="change in log-odds of churn per standard deviation"),
            y=alt.Y(
                "feature:N",
                sort=alt.SortField("coefficient_rank"),
                title=None,
                axis=LABEL_AXIS,
            ),
            color=alt.Color(
                "effect:N",
                scale=alt.Scale(
                    domain=["raises churn risk", "lowers churn risk"],
                    range=["#d62728", "#1f77b4"],
                ),
                title=None,
            ),
            tooltip=["feature:N", alt.Tooltip("coefficient:Q", format="+.3f"), "scale:N"],
        )
        .properties(height=max(200, 28 * len(frame)))
    )


def matrix_chart(cells: pd.DataFrame) -> alt.Chart:
    """The value x purchase-style matrix as a heat map: customers and the business label."""
    frame = cells.assign(label=cells["value_style_label"].fillna("–"))
    frame["text"] = [
        f"{label}: {count:,}" if count else "–"
        for label, count in zip(frame["label"], frame["customers"], strict=True)
    ]
    values = list(dict.fromkeys(frame["value_segment"]))
    styles = list(dict.fromkeys(frame["purchase_style"]))
    base = alt.Chart(frame).encode(
        x=alt.X(
            "purchase_style:N", sort=styles, title="purchase style", axis=alt.Axis(labelAngle=0)
        ),
        y=alt.Y("value_segment:N", sort=values, title="value segment"),
    )
    heat = base.mark_rect().encode(
        color=alt.Color("customers:Q", scale=alt.Scale(scheme="blues"), title="customers"),
        tooltip=["value_segment:N", "purchase_style:N", "label:N", "customers:Q"],
    )
    text = base.mark_text(fontSize=14).encode(
        text="text:N",
        color=alt.condition(
            alt.datum.customers > frame["customers"].max() / 2,
            alt.value("white"),
            alt.value("black"),
        ),
    )
    return (heat + text).properties(height=260)


def segment_bars(summary: pd.DataFrame, value: str, title: str) -> alt.Chart:
    return (
        alt.Chart(summary[["segment", value]])
        .mark_bar()
        .encode(
            x=alt.X(f"{value}:Q", title=title),
            y=alt.Y("segment:N", sort="-x", title=None, axis=LABEL_AXIS),
            tooltip=["segment:N", alt.Tooltip(f"{value}:Q", format=",.0f")],
        )
        .properties(height=max(160, 36 * len(summary)))
    )


def recency_chart(histogram: pd.DataFrame) -> alt.Chart:
    return (
        alt.Chart(histogram)
        .mark_bar()
        .encode(
            x=alt.X("bin_start:Q", bin="binned", title="days since the last purchase"),
            x2="bin_end:Q",
            y=alt.Y("customers:Q", title="customers"),
            tooltip=["bin_start:Q", "bin_end:Q", "customers:Q"],
        )
        .properties(height=300)
    )


def monthly_revenue_chart(monthly: pd.DataFrame) -> alt.Chart:
    frame = monthly[["month", "revenue", "net_revenue", "orders", "customers"]]
    bars = (
        alt.Chart(frame)
        .mark_bar(color="#4c78a8")
        .encode(
            x=alt.X("yearmonth(month):T", title="month"),
            y=alt.Y("revenue:Q", title="revenue"),
            tooltip=[
                alt.Tooltip("yearmonth(month):T", title="month"),
                alt.Tooltip("revenue:Q", format=",.0f"),
                alt.Tooltip("net_revenue:Q", format=",.0f"),
                "orders:Q",
                "customers:Q",
            ],
        )
    )
    net = (
        alt.Chart(frame)
        .mark_line(color="#f58518", point=True)
        .encode(x="yearmonth(month):T", y="net_revenue:Q")
    )
    return (bars + net).properties(height=300)
