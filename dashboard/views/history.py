"""History: who moved between two snapshot dates (a transition matrix), segment sizes over
time, and, on the Customer page, the customer's own timeline."""

from __future__ import annotations

from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import history_data, ui

NO_HISTORY = (
    "No customer history in this snapshot yet: snapshots are taken after each refresh and "
    "on their weekly schedule, or backfilled with `customer-intel history --from ... --to ...`."
)


@st.cache_data(show_spinner=False, max_entries=128)
def _cached(query: str, path: str, version: tuple[int, int, int], args: tuple):
    # version is part of the key: a new publish is a new file, so results never go stale.
    return getattr(history_data, query)(Path(path), *args)


def _query(snapshot: ui.Snapshot, name: str, *args):
    return _cached(name, str(snapshot.path), snapshot.version, args)


def transition_chart(matrix: pd.DataFrame) -> alt.Chart:
    """From-label rows, to-label columns, customers in each cell."""
    frame = matrix.assign(text=[f"{n:,}" for n in matrix["customers"]])
    base = alt.Chart(frame).encode(
        x=alt.X("to_label:N", title="to", axis=alt.Axis(labelAngle=0, orient="top")),
        y=alt.Y("from_label:N", title="from"),
    )
    heat = base.mark_rect().encode(
        color=alt.Color("customers:Q", scale=alt.Scale(scheme="lightgreyteal"), title="customers"),
        tooltip=[
            "from_label:N",
            "to_label:N",
            "customers:Q",
            alt.Tooltip("share_of_from:Q", format=".0%", title="share of from"),
            alt.Tooltip("revenue:Q", format=",.0f"),
            alt.Tooltip("revenue_between:Q", format=",.0f", title="spent between"),
        ],
    )
    # A light scale, so the counts read in black on every cell.
    text = base.mark_text(fontSize=13, color="black").encode(text="text:N")
    return (heat + text).properties(height=max(160, 44 * frame["from_label"].nunique()))


def sizes_chart(sizes: pd.DataFrame) -> alt.Chart:
    return (
        alt.Chart(sizes)
        .mark_line(point=True)
        .encode(
            x=alt.X("snapshot_date:T", title="snapshot date"),
            y=alt.Y("customers:Q", title="customers"),
            color=alt.Color("label:N", title=None),
            tooltip=[
                "snapshot_date:T",
                "label:N",
                "customers:Q",
                alt.Tooltip("revenue:Q", format=",.0f"),
            ],
        )
        .properties(height=320)
    )


def render() -> None:
    snapshot = ui.require_snapshot()
    st.header("History")
    with ui.friendly_errors():
        dates, default = _query(snapshot, "stored_dates")
        if len(dates) < 2:
            st.info(NO_HISTORY, icon=":material/history:")
            return
        titles = history_data.DIMENSION_TITLES
        dimension = st.selectbox(
            "Segmentation", list(titles), format_func=titles.get, key="history_dimension"
        )
        left, right = st.columns(2)
        from_date = left.selectbox("From", dates, index=dates.index(default[0]), key="history_from")
        to_date = right.selectbox("To", dates, index=dates.index(default[1]), key="history_to")
        st.subheader("Who moved")
        matrix = _query(snapshot, "transitions", from_date, to_date, dimension)
        with st.container(key="history_moved"):
            st.metric(
                f"Customers whose {titles[dimension].lower()} changed",
                f"{history_data.moved(matrix):,}",
            )
        chart, table = st.columns([3, 2])
        chart.altair_chart(transition_chart(matrix))
        table.dataframe(matrix, hide_index=True)
        table.caption(
            "Rows: the label at the first date ('(new)': no purchase yet); columns: at the "
            "second. Revenue is the customers' net spend; 'spent between', between the dates."
        )
        st.subheader("Segment sizes over time")
        st.altair_chart(sizes_chart(_query(snapshot, "sizes_over_time", dimension)))


def customer_timeline(snapshot: ui.Snapshot, customer_id: str) -> None:
    """The customer's snapshots, for the Customer page."""
    st.markdown("#### History")
    with ui.friendly_errors(), st.container(key="customer_history"):
        timeline = _query(snapshot, "timeline", customer_id)
        if timeline.empty:
            st.caption("No snapshot of this customer in the history.")
            return
        st.dataframe(timeline, hide_index=True)
