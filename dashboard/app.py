"""Customer-intelligence dashboard for marketing: `make dashboard` serves it on
http://127.0.0.1:8501.

Reads only the published BI snapshot DATA_DIR/bi/customer_intel.duckdb (read-only, one
short-lived connection per query: see dashboard/data.py), never the pipeline's warehouse.
Pages: Targeting, Model, Segments, Customer, History, Live scoring, Upload. Upload and live
scoring go through pipeline.serving (the upload into landing and the refresh through the running
Dagster instance; scoring into the API's prediction log); Upload works without a snapshot.
"""

from __future__ import annotations

import sys
from pathlib import Path

# `streamlit run dashboard/app.py` puts dashboard/ on sys.path, not the project root.
PROJECT = Path(__file__).resolve().parent.parent
if str(PROJECT) not in sys.path:
    sys.path.insert(0, str(PROJECT))

import streamlit as st  # noqa: E402

from dashboard import data, ui  # noqa: E402
from dashboard.views import customer, history, live_scoring, model, segments, targeting  # noqa: E402
from dashboard.views import upload as upload_view  # noqa: E402

TITLE = "Customer intelligence"

st.set_page_config(page_title=TITLE, page_icon=":material/insights:", layout="wide")

pages = [
    # the default page is served at the root URL
    st.Page(targeting.render, title="Targeting", icon=":material/target:", default=True),
    st.Page(model.render, title="Model", icon=":material/model_training:", url_path="model"),
    st.Page(segments.render, title="Segments", icon=":material/donut_small:", url_path="segments"),
    st.Page(
        customer.render, title="Customer", icon=":material/person_search:", url_path="customer"
    ),
    st.Page(history.render, title="History", icon=":material/history:", url_path="history"),
    st.Page(live_scoring.render, title="Live scoring", icon=":material/bolt:", url_path="score"),
    st.Page(upload_view.render, title="Upload", icon=":material/upload_file:", url_path="upload"),
]
page = st.navigation(pages)

st.title(TITLE)
snapshot = ui.current_snapshot()
if snapshot is None and page.url_path != "upload":  # Upload loads the first data
    ui.no_snapshot_message(data.snapshot_path())
    st.stop()
if snapshot is None:
    page.run()
    st.stop()

with st.sidebar, ui.friendly_errors():
    info = ui.query(snapshot, "snapshot_info")
    published = f"{info.published_at:%Y-%m-%d %H:%M} UTC" if info.published_at else "unknown"
    st.caption(
        f"Snapshot published {published}  \n"
        f"run `{info.run_id[:8] or '–'}` · {len(info.tables)} tables  \n"
        f"`{snapshot.path}`"
    )

page.run()
