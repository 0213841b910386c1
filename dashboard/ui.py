"""Streamlit glue shared by the views: which snapshot to read, cached queries, and friendly
messages instead of stack traces when the snapshot or one of its tables is missing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from dashboard import data


@dataclass(frozen=True)
class Snapshot:
    path: Path
    version: tuple[int, int, int]  # changes with every publish (see data.snapshot_version)


def current_snapshot() -> Snapshot | None:
    """The published snapshot as of this page load (None when there is none yet)."""
    path = data.snapshot_path()
    version = data.snapshot_version(path)
    return None if version is None else Snapshot(path, version)


@st.cache_data(show_spinner=False, max_entries=256)
def _cached(query: str, path: str, version: tuple[int, int, int], args: tuple):
    # version is part of the key: a new publish is a new file, so results never go stale.
    return getattr(data, query)(Path(path), *args)


def query(snapshot: Snapshot, name: str, *args):
    """``data.<name>(snapshot.path, *args)``, cached per snapshot version and arguments."""
    return _cached(name, str(snapshot.path), snapshot.version, args)


def require_snapshot() -> Snapshot:
    """The snapshot, or the 'run make demo' message and the end of this page's run."""
    snapshot = current_snapshot()
    if snapshot is None:
        no_snapshot_message(data.snapshot_path())
        st.stop()
    return snapshot


def no_snapshot_message(path: Path) -> None:
    st.info(str(data.SnapshotMissing(path)), icon=":material/hourglass_empty:")
    st.markdown(
        "The dashboard reads only the published BI snapshot. Set `DATA_DIR` to the pipeline's "
        "data folder if it is elsewhere, then reload this page; or open **Upload** to load a "
        "file or generate demo data."
    )


@contextmanager
def friendly_errors() -> Iterator[None]:
    """Show a missing snapshot or table as a message; the rest of the page still renders."""
    try:
        yield
    except data.SnapshotMissing as missing:
        no_snapshot_message(missing.path)
    except data.TableMissing as missing:
        st.warning(str(missing), icon=":material/table_view:")


def number(value, pattern: str = "{:,.0f}", missing: str = "–") -> str:
    if value is None:
        return missing
    try:
        return pattern.format(value)
    except (TypeError, ValueError):
        return str(value)
