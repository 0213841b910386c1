"""What an uploaded file would give the pipeline, found before anything is written.

The file is loaded exactly as the raw layer loads a landing file (pipeline.ingest's
``ingest_file``: its readers, column mapping, typing and quarantine rules, under the name it
will have in landing, so a user layout of column_mappings.yaml applies the same way), but
into a throw-away DuckDB database in a temporary folder: never the warehouse. The preview
reads the result back: rows read, loaded and quarantined, the quarantine's reasons, the
customers and the date range; or why the whole file would be rejected.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from pipeline.ingest import ensure_raw_schema, ingest_file
from pipeline.ingest.column_mapping import MappingError, layout_for, load_layouts
from pipeline.ingest.typed_rows import create_typing_macros
from pipeline.serving.landing_upload import landing_name

MAX_REASONS = 50  # distinct quarantine reasons listed (the counts cover every row)

REASONS_SQL = """
SELECT column_name, reason, count(*) AS rows, min(source_row) AS first_row
FROM raw.quarantine
GROUP BY ALL
ORDER BY rows DESC, first_row
LIMIT $limit
"""

FIGURES_SQL = """
SELECT
    count(DISTINCT customer_id) AS customers,
    count(*) FILTER (WHERE customer_id IS NULL) AS rows_without_customer,
    min(invoice_ts) AS first_invoice,
    max(invoice_ts) AS last_invoice,
    sum(line_amount) AS total_amount
FROM raw.transactions
"""


@dataclass(frozen=True)
class UploadPreview:
    """What loading the file into landing would do (see the module docstring)."""

    name: str  # the file's name in landing
    size_bytes: int
    status: str  # "loaded" (would load) or "rejected" (the whole file would be refused)
    error: str | None = None  # why it would be rejected
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    customers: int = 0
    rows_without_customer: int = 0  # loaded, but left out of the customer tables later
    first_invoice: dt.datetime | None = None
    last_invoice: dt.datetime | None = None
    total_amount: float | None = None
    # column_name, reason, rows, first_row (source row of the first such row)
    reasons: pd.DataFrame = field(default_factory=pd.DataFrame)
    replaces_existing: bool = False  # landing holds a file of this name: it is replaced
    same_as_existing: bool = False  # ... with these very bytes: nothing new to load

    @property
    def would_load(self) -> bool:
        return self.status == "loaded" and self.rows_loaded > 0

    def summary(self) -> str:
        """One line a person reads."""
        if self.status == "rejected":
            return f"{self.name} would be rejected: {self.error}"
        span = (
            f" from {self.first_invoice:%Y-%m-%d} to {self.last_invoice:%Y-%m-%d}"
            if self.first_invoice and self.last_invoice
            else ""
        )
        return (
            f"{self.name}: {self.rows_read:,} rows read, {self.rows_loaded:,} loaded, "
            f"{self.rows_quarantined:,} quarantined; {self.customers:,} customers{span}"
        )


def preview_file(
    path: Path,
    mappings_path: Path,
    landing_dir: Path | None = None,
    now: dt.datetime | None = None,
) -> UploadPreview:
    """Load ``path``, to be placed in landing under its own name (which picks the reader and
    the column layout), into a throw-away database with the raw layer's code and report
    what it gave; ``landing_dir`` (optional) tells whether a file of that name is there."""
    name = landing_name(path.name)
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    size = path.stat().st_size
    existing = landing_dir / name if landing_dir is not None else None
    replaces = existing is not None and existing.is_file()
    same = (
        replaces and existing.stat().st_size == size and existing.read_bytes() == path.read_bytes()
    )
    try:
        layout = layout_for(name, load_layouts(mappings_path))
    except MappingError as error:
        return UploadPreview(name, size, "rejected", error=str(error))
    with tempfile.TemporaryDirectory(prefix="upload-preview-") as folder:
        connection = duckdb.connect(str(Path(folder) / "preview.duckdb"))
        try:
            ensure_raw_schema(connection)
            create_typing_macros(connection)
            outcome = ingest_file(connection, path, name, layout, now)
            if outcome.status != "loaded":
                return UploadPreview(
                    name,
                    size,
                    "rejected",
                    error=outcome.error or f"{name}: not loaded ({outcome.status})",
                    replaces_existing=replaces,
                    same_as_existing=same,
                )
            figures = connection.execute(FIGURES_SQL).fetchone()
            reasons = connection.execute(REASONS_SQL, {"limit": MAX_REASONS}).df()
        finally:
            connection.close()
    customers, without_customer, first, last, total = figures
    return UploadPreview(
        name=name,
        size_bytes=size,
        status="loaded",
        rows_read=outcome.rows_read,
        rows_loaded=outcome.rows_loaded,
        rows_quarantined=outcome.rows_quarantined,
        customers=int(customers),
        rows_without_customer=int(without_customer),
        first_invoice=first,
        last_invoice=last,
        total_amount=None if total is None else float(total),
        reasons=reasons,
        replaces_existing=replaces,
        same_as_existing=same,
    )


def preview_upload(
    content: bytes,
    name: str,
    mappings_path: Path,
    landing_dir: Path | None = None,
    now: dt.datetime | None = None,
) -> UploadPreview:
    """:func:`preview_file` for an upload held in memory (written to a temporary file under
    its landing name, since the name picks the reader and the column layout)."""
    name = landing_name(name)
    with tempfile.TemporaryDirectory(prefix="upload-") as folder:
        path = Path(folder) / name
        path.write_bytes(content)
        return preview_file(path, mappings_path, landing_dir, now)
