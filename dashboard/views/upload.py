"""Upload: check a file with the pipeline's own readers, show what loading it would do, put it
in landing, start the refresh in the running Dagster instance and follow it until the new
snapshot is published. With nothing loaded yet, generate demo data instead.

The work is done by pipeline.serving (upload_preview, landing_upload, dagster_refresh); this
page only asks and shows."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from dashboard import data, ui
from pipeline.ingest.discovery import discover_files
from pipeline.serving.dagster_refresh import (
    DagsterClient,
    DagsterError,
    DagsterUnreachable,
    refresh_state,
)
from pipeline.serving.landing_upload import (
    UPLOAD_SUFFIXES,
    UploadRefused,
    check_size,
    place_in_landing,
)
from pipeline.serving.upload_preview import UploadPreview, preview_upload
from pipeline.settings import Settings

DEMO_ROWS = 100_000
POLL_SECONDS = 2.0


def _dagster(settings: Settings) -> tuple[DagsterClient, str | None]:
    """The client, and None when Dagster answers, else the message saying what to run."""
    client = DagsterClient(settings.dagster_url, timeout=30)
    try:
        client.version()
    except (DagsterUnreachable, DagsterError) as error:
        return client, str(error)
    return client, None


def _customers() -> int | None:
    snapshot = ui.current_snapshot()
    if snapshot is None:
        return None
    try:
        return ui.query(snapshot, "snapshot_info").tables.get("marts.customer_segments")
    except (data.SnapshotMissing, data.TableMissing):
        return None


def _start_refresh(client: DagsterClient, settings: Settings, trigger: str, what: str) -> bool:
    """Launch the refresh and remember it in the session, with the snapshot it replaces;
    False (and a message) when Dagster did not take it."""
    before = data.snapshot_version(settings.bi_snapshot_path)
    customers_before = _customers()
    try:
        run_id = client.launch(tags={"pipeline/trigger": trigger, "pipeline/files": what[:250]})
    except (DagsterUnreachable, DagsterError) as error:
        st.session_state.pop("refresh", None)
        st.error(
            f"{what} is in landing, but the refresh did not start. {error}. Its landing "
            "sensor loads the file once Dagster runs (or run `make refresh`).",
            icon=":material/error:",
        )
        return False
    st.session_state["refresh"] = {
        "run_id": run_id,
        "before": before,
        "customers_before": customers_before,
        "what": what,
        "started": dt.datetime.now().strftime("%H:%M:%S"),
        "done": False,
    }
    return True


def _new_snapshot_figures(refresh: dict) -> None:
    snapshot = ui.current_snapshot()
    if snapshot is None:
        return
    with ui.friendly_errors():
        info = ui.query(snapshot, "snapshot_info")
        customers = info.tables.get("marts.customer_segments")
        before = refresh["customers_before"]
        with st.container(key="new_snapshot"):
            a, b, c = st.columns(3)
            a.metric(
                "Customers",
                ui.number(customers),
                delta=None if before is None or customers is None else f"{customers - before:+,}",
            )
            published = info.published_at
            b.metric("Snapshot published", f"{published:%H:%M:%S} UTC" if published else "–")
            c.metric("By run", info.run_id[:8] or "–")
            st.caption("Every page now shows this snapshot: Targeting, Model, Segments, Customer.")


def _follow(client: DagsterClient, settings: Settings) -> None:
    """The refresh this session started: its run's progress until the new snapshot."""
    refresh = st.session_state.get("refresh")
    if not refresh:
        return
    st.subheader("Refresh")
    st.caption(
        f"{refresh['what']}: run [`{refresh['run_id'][:8]}`]({client.url}/runs/"
        f"{refresh['run_id']}) started at {refresh['started']}"
    )

    def progress() -> None:
        try:
            run = client.progress(refresh["run_id"])
        except (DagsterUnreachable, DagsterError) as error:
            st.error(str(error), icon=":material/cloud_off:")
            return
        changed = data.snapshot_version(settings.bi_snapshot_path) != refresh["before"]
        state = refresh_state(run, changed)
        with st.container(key="refresh_status"):
            if state.phase == "published":
                st.success(state.message, icon=":material/check_circle:")
            elif state.phase in ("failed", "no_new_snapshot"):
                st.error(state.message, icon=":material/error:")
            else:
                st.progress(state.fraction, text=state.message)
        if state.finished and not refresh["done"]:
            refresh["done"] = True
            st.rerun()  # the whole page: the sidebar and the figures show the new snapshot

    if refresh["done"]:
        progress()
    else:
        st.fragment(progress, run_every=POLL_SECONDS)()
    if refresh["done"]:
        _new_snapshot_figures(refresh)


def _demo(client: DagsterClient | None, settings: Settings) -> None:
    st.subheader("Nothing loaded yet")
    st.markdown(
        "Landing is empty and no snapshot is published. Generate demo transactions (the "
        "UCI *Online Retail* layout, as `make demo` does) to see the whole pipeline work."
    )
    with st.form("demo", border=False):
        rows = st.number_input(
            "Rows", min_value=15_000, max_value=5_000_000, value=DEMO_ROWS, step=5_000
        )
        seed = st.number_input("Seed", min_value=0, value=42, step=1)
        go = st.form_submit_button(
            "Generate demo data and refresh", type="primary", disabled=client is None
        )
    if go:
        from pipeline.demo import write_demo_data

        with st.spinner(f"Generating {rows:,} rows ..."):
            summary = write_demo_data(
                settings.landing_dir, settings.demo_dir, n_rows=int(rows), seed=int(seed)
            )
        if _start_refresh(client, settings, "dashboard_demo", summary.transactions_path.name):
            st.rerun()


def _preview(preview: UploadPreview) -> None:
    with st.container(key="upload_preview"):
        if preview.status == "rejected":
            st.error(f"This file would be rejected: {preview.error}", icon=":material/block:")
            return
        a, b, c, d = st.columns(4)
        a.metric("Rows read", ui.number(preview.rows_read))
        b.metric("Rows to load", ui.number(preview.rows_loaded))
        c.metric("Quarantined", ui.number(preview.rows_quarantined))
        d.metric("Customers", ui.number(preview.customers))
        if preview.first_invoice and preview.last_invoice:
            st.markdown(
                f"**Dates:** {preview.first_invoice:%Y-%m-%d} to {preview.last_invoice:%Y-%m-%d}"
                + (
                    f"  \n**Rows without a customer id:** {preview.rows_without_customer:,} "
                    "(kept in the raw layer, left out of the customer tables)"
                    if preview.rows_without_customer
                    else ""
                )
            )
        if preview.rows_quarantined:
            st.markdown("**Quarantined rows** (kept in raw.quarantine with the reason)")
            st.dataframe(
                preview.reasons.rename(
                    columns={
                        "column_name": "column",
                        "first_row": "first row in the file",
                    }
                ),
                hide_index=True,
            )
        if preview.same_as_existing:
            st.info(
                f"landing/{preview.name} holds exactly this file already: nothing new to load.",
                icon=":material/info:",
            )
        elif preview.replaces_existing:
            st.warning(
                f"landing/{preview.name} exists: this file replaces it, and its rows replace "
                "the old file's rows.",
                icon=":material/swap_horiz:",
            )


def _upload(client: DagsterClient | None, settings: Settings) -> None:
    st.subheader("Upload a file")
    st.caption(
        "CSV, Excel or Parquet with one row per purchase line (the column names of the UCI "
        "Online Retail files, or mapped in column_mappings.yaml). It is checked first; "
        "nothing is written until you load it."
    )
    file = st.file_uploader(
        "Transactions file",
        type=[suffix.lstrip(".") for suffix in UPLOAD_SUFFIXES],
        max_upload_size=settings.upload_max_mb,
        key=f"upload_file_{st.session_state.get('uploads', 0)}",  # a new key empties it
    )
    if file is None:
        return
    content = file.getvalue()
    max_bytes = settings.upload_max_mb * 1024**2
    cached = st.session_state.get("upload_preview")
    try:
        check_size(file.name, len(content), max_bytes)
        if cached is None or cached[0] != file.file_id:
            with st.spinner("Checking the file with the pipeline's readers ..."):
                preview = preview_upload(
                    content, file.name, settings.mappings_path, settings.landing_dir
                )
            st.session_state["upload_preview"] = (file.file_id, preview)
        else:
            preview = cached[1]
    except UploadRefused as refused:
        st.error(str(refused), icon=":material/block:")
        return
    _preview(preview)
    if not preview.would_load:
        return
    if st.button(
        f"Load {preview.name} into landing and refresh",
        type="primary",
        disabled=client is None,
        key="upload_load",
    ):
        try:
            target = place_in_landing(content, settings.landing_dir, preview.name, max_bytes)
        except UploadRefused as refused:
            st.error(str(refused), icon=":material/block:")
            return
        st.session_state.pop("upload_preview", None)
        st.session_state["uploads"] = st.session_state.get("uploads", 0) + 1
        if _start_refresh(client, settings, "dashboard_upload", target.name):
            st.rerun()


def render() -> None:
    settings = Settings.from_env()
    st.header("Upload")
    client, down = _dagster(settings)
    if down:
        st.warning(down, icon=":material/cloud_off:")
    _follow(client, settings)
    running = client if down is None else None
    nothing_loaded = ui.current_snapshot() is None and not discover_files(settings.landing_dir)
    if nothing_loaded:
        _demo(running, settings)
    _upload(running, settings)
