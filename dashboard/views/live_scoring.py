"""Live scoring: enter a new customer's RFM (or paste transaction lines) and see at once the
segment, persona, action and reasons the champion models give, and the prediction log below.

Scoring, the models and the log are the HTTP API's (pipeline.serving.live_scorer): an entry
already logged, through the API or here, is shown as logged and not scored twice."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from dashboard import ui
from pipeline.settings import Settings

if TYPE_CHECKING:  # imported when the page is first shown: the models' stack is heavy
    from pipeline.serving.live_scorer import LiveResult, LiveScorer

LOG_ROWS = 20
EXAMPLE_LINES = """customer_id,invoice_ts,invoice_id,stock_code,quantity,unit_price
new-7,2011-11-02 10:15,900001,85123A,6,2.55
new-7,2011-12-01 14:40,900002,22423,2,12.75
"""


@st.cache_resource(show_spinner=False)
def _scorer(data_dir: str) -> LiveScorer:
    """One scorer per process and DATA_DIR: the snapshot reader and the champion models are
    loaded once and follow new publishes and alias moves."""
    from pipeline.serving.live_scorer import LiveScorer

    return LiveScorer(Settings.from_env())


def _show(result: LiveResult, scorer: LiveScorer) -> None:
    with st.container(key="live_result"):
        for _, prediction in result.predictions.iterrows():
            logged = " (logged before: not scored again)" if prediction["already_logged"] else ""
            st.markdown(f"##### Customer {prediction['customer_id']}{logged}")
            a, b, c, d = st.columns(4)
            a.metric("Value segment", prediction.get("value_segment") or "–")
            b.metric("Persona", prediction.get("persona") or "–")
            c.metric("Churn risk", ui.number(prediction.get("churn_risk_pct"), "{:.0f}%"))
            d.metric(
                "Purchase probability", ui.number(prediction.get("purchase_probability"), "{:.0%}")
            )
            channel = prediction.get("action_channel")
            st.success(
                f"**Action: {prediction.get('action') or 'no action'}**"
                + (f" via {channel}" if channel else "")
                + f"  \nValue x style: {prediction.get('value_style_label') or '–'} · "
                f"expected spend {ui.number(prediction.get('expected_spend'))}",
                icon=":material/campaign:",
            )
            reasons = scorer.reasons(prediction)
            if len(reasons):
                st.markdown(
                    "\n".join(
                        f"- {'▲' if r.direction == 'up' else '▼'} `{r.feature}` = "
                        f"{ui.number(r.value, '{:,.4g}')} ({r.contribution:+.2f})"
                        for r in reasons.itertuples()
                    )
                )
            st.caption(
                f"{prediction['churn_model']}, {prediction['propensity_model']}; features as of "
                f"{pd.Timestamp(prediction['features_as_of']):%Y-%m-%d}"
            )


def _rfm_form() -> dict | None:
    with st.form("rfm", border=False):
        a, b, c, d, e = st.columns(5)
        customer_id = a.text_input("Customer id", value="new-1")
        recency = b.number_input("Recency (days)", min_value=1, max_value=36500, value=30)
        frequency = c.number_input("Frequency (orders)", min_value=1, value=3)
        monetary = d.number_input("Monetary (net spend)", value=250.0, step=10.0)
        tenure = e.number_input("Tenure (days, optional)", min_value=1, value=None)
        if st.form_submit_button("Score", type="primary"):
            return {
                "customer_id": customer_id.strip(),
                "recency_days": int(recency),
                "frequency": int(frequency),
                "monetary": float(monetary),
                "tenure_days": None if tenure is None else int(tenure),
            }
    return None


def _lines_form() -> str | None:
    with st.form("lines", border=False):
        text = st.text_area("Transaction lines (CSV with a header)", value=EXAMPLE_LINES)
        if st.form_submit_button("Score these lines", type="primary"):
            return text
    return None


def render() -> None:
    from pipeline.live_scoring import NewCustomersError
    from pipeline.serving.live_scorer import EntryRejected
    from pipeline.serving.snapshot import SnapshotMissing

    ui.require_snapshot()
    st.header("Live scoring")
    st.caption(
        "A new customer scored at once with the champion models (no refit), with the same "
        "labels, reasons and action as the nightly batch; every prediction is logged once "
        "in the API's prediction log."
    )
    scorer = _scorer(str(Settings.from_env().data_dir))
    rfm, lines = st.tabs(["RFM", "Transaction lines"])
    with rfm:
        entry = _rfm_form()
    with lines:
        pasted = _lines_form()
    try:
        if entry is not None:
            with st.spinner("Scoring ..."):
                _show(scorer.score_rfm(entry), scorer)
        elif pasted is not None:
            with st.spinner("Scoring ..."):
                _show(scorer.score_lines(pasted), scorer)
    except (EntryRejected, NewCustomersError) as rejected:
        st.error(str(rejected), icon=":material/block:")
    except SnapshotMissing as missing:
        ui.no_snapshot_message(missing.path)
    except LookupError as missing_model:  # no champion yet
        st.warning(f"{missing_model}", icon=":material/model_training:")

    st.markdown("#### Prediction log")
    st.caption(f"The latest {LOG_ROWS} entries of {scorer.log.path}, newest first.")
    latest = scorer.latest(LOG_ROWS)
    with st.container(key="prediction_log"):
        if latest.empty:
            st.caption("Nothing logged yet.")
        else:
            st.dataframe(latest, hide_index=True)
