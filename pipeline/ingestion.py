"""Load landing files into raw.transactions, raw.quarantine and raw.file_ledger.

For each file: skip it when the ledger's loaded version of the path has the same size and
modification time, or else when its hash (computed beside the read of the file) is already
loaded under any path; otherwise stage it as text (file_readers.py), map its columns
(column_mapping.py), type every value in SQL and, in one transaction, replace any earlier
version of the same file, insert the typed rows into raw.transactions and the rows that
cannot be typed into raw.quarantine (file, row, column, reason, original values), and record
the outcome in the ledger. A file that cannot be read at all is recorded as rejected and
changes nothing else.
"""

from __future__ import annotations

import datetime as dt
import logging
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import duckdb

from pipeline.catalog.ddl import create_tables_sql
from pipeline.column_mapping import (
    CANONICAL_COLUMNS,
    Layout,
    MappingError,
    layout_for,
    load_layouts,
    missing_required,
    resolve_columns,
)
from pipeline.file_readers import (
    STAGED_TABLE,
    FileRejected,
    FileScan,
    StagedPart,
    content_hash,
    file_signature,
    scan_file,
    stage_parts,
)
from pipeline.sql_text import one_row, quote_identifier, quote_literal

log = logging.getLogger(__name__)

RAW_SCHEMA_SQL = (
    create_tables_sql("raw.transactions", "raw.quarantine", "raw.file_ledger")
    # Ledgers written before modified_at existed gain the column (null: hashed once more).
    + "ALTER TABLE raw.file_ledger ADD COLUMN IF NOT EXISTS modified_at TIMESTAMP;\n"
)

# Typing rules, as macros so the typed SELECT below reads like a column list.
TYPING_MACROS_SQL = r"""
-- NULLIF(trim(s), ''), without trim's copy of every string: trim removes ' ' and Unicode
-- space separators only, so an all-ASCII text that neither starts nor ends with a space
-- (first byte '!'..'~' by a byte-wise comparison) is returned as it is (10M rows: the
-- descriptions take 0.35 s instead of 0.8-1.3 s).
CREATE OR REPLACE TEMP MACRO ci_blank(s) AS
    CASE WHEN s >= '!' AND s < chr(127) AND NOT ends_with(s, ' ') AND strlen(s) = length(s)
         THEN s ELSE NULLIF(trim(s), '') END;
-- Currency symbols, ISO codes and blanks are dropped; comma decimals are recognised:
-- '1,234.5' and '1.234,5' are thousands-separated, a lone comma is a decimal comma.
CREATE OR REPLACE TEMP MACRO ci_number_text(t, decimal_mark) AS
    CASE
        WHEN decimal_mark = ',' THEN replace(replace(t, '.', ''), ',', '.')
        WHEN regexp_full_match(t, '[-+]?\d{1,3}(,\d{3})+(\.\d+)?') THEN replace(t, ',', '')
        WHEN regexp_full_match(t, '[-+]?\d{1,3}(\.\d{3})+,\d+')
            THEN replace(replace(t, '.', ''), ',', '.')
        WHEN regexp_full_match(t, '[-+]?\d*,\d+') THEN replace(t, ',', '.')
        ELSE t
    END;
CREATE OR REPLACE TEMP MACRO ci_number_any(s, decimal_mark) AS
    TRY_CAST(ci_number_text(regexp_replace(trim(s), '£|\$|€|¥|GBP|USD|EUR|\s', '', 'g'),
                            decimal_mark) AS DOUBLE);
CREATE OR REPLACE TEMP MACRO ci_finite(x) AS CASE WHEN isfinite(x) THEN x END;
-- A CASE rather than coalesce(): DuckDB hoists the fallback's regexp_replace out of a
-- coalesce() and runs it on every row; in a CASE it runs only where the plain cast fails.
CREATE OR REPLACE TEMP MACRO ci_number(s, decimal_mark) AS ci_finite(
    CASE WHEN decimal_mark = '.' AND TRY_CAST(s AS DOUBLE) IS NOT NULL THEN TRY_CAST(s AS DOUBLE)
         ELSE ci_number_any(s, decimal_mark) END);
-- DuckDB's cast also reads '12/1/10' as the year 12: it is used only for a 4-digit year
-- first (ISO 8601); everything else goes through the formats, two-digit years first.
CREATE OR REPLACE TEMP MACRO ci_timestamp(s, formats) AS
    coalesce(
        CASE WHEN regexp_matches(trim(s), '^\d{4}[-/]') THEN TRY_CAST(trim(s) AS TIMESTAMP) END,
        try_strptime(trim(s), formats));
-- Numeric ids read through a spreadsheet come back as '17850.0' (the regex only runs on
-- ids with a dot).
CREATE OR REPLACE TEMP MACRO ci_customer_id(s) AS
    ci_blank(CASE WHEN contains(s, '.') THEN regexp_replace(trim(s), '^(\d+)\.0+$', '\1')
                  ELSE s END);
"""

# strptime's %Y also takes a two-digit year ('12/1/10' -> the year 10), so each %y format
# comes before its %Y twin (%y takes exactly two digits and never reads '2010').
MONTH_FIRST_FORMATS = [
    "%m/%d/%y %H:%M",
    "%m/%d/%y",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y",
]
DAY_FIRST_FORMATS = [
    "%d/%m/%y %H:%M",
    "%d/%m/%y",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y",
]
OTHER_FORMATS = [
    "%Y%m%d",
    "%Y%m%d %H%M%S",
    "%d.%m.%y %H:%M",
    "%d.%m.%y",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d",
    "%d-%b-%Y %H:%M",
    "%d-%b-%Y",
    "%d %b %Y",
]


def date_formats(layout: Layout) -> list[str]:
    """strptime formats tried, in order, after DuckDB's ISO-8601 cast."""
    first, second = (
        (DAY_FIRST_FORMATS, MONTH_FIRST_FORMATS)
        if layout.day_first
        else (MONTH_FIRST_FORMATS, DAY_FIRST_FORMATS)
    )
    custom = [layout.date_format] if layout.date_format else []
    return custom + first + OTHER_FORMATS + second


@dataclass
class FileOutcome:
    file_path: str
    status: str  # loaded | rejected | unchanged
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    replaced_previous: bool = False
    error: str | None = None


@dataclass
class IngestReport:
    files: list[FileOutcome] = field(default_factory=list)

    def with_status(self, status: str) -> list[FileOutcome]:
        return [f for f in self.files if f.status == status]

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)


def ensure_raw_schema(connection: duckdb.DuckDBPyConnection) -> None:
    connection.execute(RAW_SCHEMA_SQL)


def discover_files(landing_dir: Path) -> list[Path]:
    """Transaction files under landing/, oldest name first; skips new_customers/ and
    hidden, temporary or partial files (a writer's ``.tmp``/``.part`` before its rename)."""
    if not landing_dir.exists():
        return []
    files = []
    for path in sorted(landing_dir.rglob("*")):
        relative = path.relative_to(landing_dir)
        if not path.is_file() or relative.parts[0] == "new_customers":
            continue
        if any(part.startswith((".", "~$", "_")) for part in relative.parts):
            continue
        if path.suffix.lower() in {".tmp", ".part", ".crdownload", ".md"}:
            continue
        files.append(path)
    return files


# The checks that send a row to quarantine: (condition over the typed row, message).
ROW_CHECKS: tuple[tuple[str, str], ...] = (
    (
        "quantity IS NULL AND ci_blank(quantity_text) IS NOT NULL",
        "'quantity: not a number: ' || quantity_text",
    ),
    (
        "unit_price IS NULL AND ci_blank(unit_price_text) IS NOT NULL",
        "'unit_price: not a number: ' || unit_price_text",
    ),
    (
        "ci_blank(line_amount_text) IS NOT NULL "
        "AND ci_number(line_amount_text, $decimal_mark) IS NULL",
        "'line_amount: not a number: ' || line_amount_text",
    ),
    (
        "invoice_ts IS NULL AND ci_blank(invoice_ts_text) IS NOT NULL",
        "'invoice_ts: not a date: ' || invoice_ts_text",
    ),
    ("ci_blank(invoice_ts_text) IS NULL", "'invoice_ts: missing'"),
    (
        "line_amount IS NULL AND ci_blank(line_amount_text) IS NULL "
        "AND (ci_blank(quantity_text) IS NULL OR ci_blank(unit_price_text) IS NULL)",
        "'line_amount: missing (no amount, nor quantity and unit_price)'",
    ),
)

# Each distinct timestamp text of the staged part, typed through the format list.
TIMESTAMP_TEXTS = "_timestamp_texts"

ALL_TYPED = (
    "quantity IS NOT NULL AND unit_price IS NOT NULL AND invoice_ts IS NOT NULL "
    "AND line_amount IS NOT NULL"
)


def _typed_select(
    resolved: dict[str, str], source_row: str, timestamp_format: str | None = None
) -> str:
    """SELECT over the staged text rows: typed canonical columns plus a list of errors.

    ``timestamp_format``: one strptime format proven to type every distinct timestamp text
    of the part exactly as the format list does; without it the timestamps come from the
    part's TIMESTAMP_TEXTS (both from :func:`_type_timestamp_texts`).
    """

    def raw(canonical: str) -> str:
        source = resolved.get(canonical)
        return f"CAST({quote_identifier(source)} AS VARCHAR)" if source else "NULL::VARCHAR"

    raw_columns = ",\n            ".join(f"{raw(c)} AS {c}_text" for c in CANONICAL_COLUMNS)
    mapped_sources = [quote_identifier(s) for s in resolved.values()]
    # A row whose every mapped value repeats its own header is a header repeated mid-file
    # (the CASE compares the other columns only on rows whose first value is its header).
    header_tests = [
        f"ci_blank(CAST({quote_identifier(s)} AS VARCHAR)) = {quote_literal(s)}"
        for s in resolved.values()
    ]
    repeated_header = (
        f"CASE WHEN {header_tests[0]} THEN {' AND '.join(header_tests)} ELSE false END"
        if header_tests
        else "false"
    )
    line_amount = (
        "ci_number(line_amount_text, $decimal_mark)"
        if "line_amount" in resolved
        else "quantity * unit_price"
    )
    # A failed strptime format is slow (~0.5 us), and most rows try several formats before
    # one fits; a file repeats each invoice's time on every line, so each distinct text is
    # typed once (TIMESTAMP_TEXTS) and joined back, unless one format is known to fit them
    # all (10M demo rows: ~250,000 distinct times).
    if timestamp_format is None:
        invoice_ts = "timestamps.invoice_ts"
        join_timestamps = f" LEFT JOIN {TIMESTAMP_TEXTS} timestamps USING (invoice_ts_text)"
    else:
        invoice_ts = f"try_strptime(ci_blank(invoice_ts_text), {quote_literal(timestamp_format)})"
        join_timestamps = ""
    error_list = ",\n            ".join(
        f"CASE WHEN {check} THEN {message} END" for check, message in ROW_CHECKS
    )
    # The same checks as a CASE, which tests each one only on the rows that passed the ones
    # before: much cheaper than building every row's error list to test its length. A row
    # whose four values all typed fails none of them (each check needs a null value), so
    # that test comes first and settles almost every row with four null tests.
    first_failed = "\n            ".join(
        [
            f"WHEN {ALL_TYPED} THEN true",
            *(f"WHEN {check} THEN false" for check, _ in ROW_CHECKS),
        ]
    )
    return f"""
    WITH text_rows AS (
        SELECT
            {raw_columns},
            ({repeated_header}) AS is_repeated_header,
            {source_row} AS source_row,
            to_json(struct_pack({", ".join(f"{s} := {s}" for s in mapped_sources)}))::VARCHAR
                AS raw_record
        FROM {STAGED_TABLE}
    ), typed AS (
        SELECT
            ci_blank(invoice_id_text) AS invoice_id,
            upper(ci_blank(stock_code_text)) AS stock_code,
            ci_blank(description_text) AS description,
            ci_number(quantity_text, $decimal_mark) AS quantity,
            {invoice_ts} AS invoice_ts,
            ci_number(unit_price_text, $decimal_mark) AS unit_price,
            ci_customer_id(customer_id_text) AS customer_id,
            ci_blank(country_text) AS country,
            text_rows.* EXCLUDE (invoice_id_text, stock_code_text, description_text,
                                 customer_id_text, country_text)
        FROM text_rows{join_timestamps}
    ), with_amount AS (
        SELECT *, {line_amount} AS line_amount FROM typed
    )
    SELECT *,
        CASE WHEN is_repeated_header THEN false
            {first_failed}
            ELSE true END AS is_valid,
        CASE WHEN is_repeated_header THEN ['header: repeated header row'] ELSE list_filter([
            {error_list}
        ], lambda e: e IS NOT NULL) END AS errors
    FROM with_amount
    """


INSERT_TRANSACTIONS_SQL = """
INSERT INTO raw.transactions
SELECT invoice_id, stock_code, description, quantity, invoice_ts, unit_price, customer_id,
       country, line_amount, $source_file, $source_sheet, source_row, $now
FROM ({typed}) WHERE is_valid
{order}
"""
# raw.transactions keeps file order. A scan, projections and filters keep it; the join of
# the distinct timestamp texts does not, so then the rows are sorted back (10M rows: 1.7 s).
FILE_ORDER = "ORDER BY source_row"

INSERT_QUARANTINE_SQL = """
INSERT INTO raw.quarantine
SELECT $source_file, $source_sheet, source_row, split_part(errors[1], ':', 1),
       array_to_string(errors, '; '), raw_record, $now
FROM ({typed}) WHERE NOT is_valid
"""


def _type_timestamp_texts(
    connection: duckdb.DuckDBPyConnection, source: str, formats: list[str]
) -> str | None:
    """Type each distinct text of the staged part's timestamp column ``source`` once,
    through ``formats`` as ci_timestamp does, into TIMESTAMP_TEXTS; return one strptime
    format that types every one of them the same way, if there is one (most files use one
    format). With it each row is parsed directly, with no join to undo: the rows keep file
    order.

    The only candidate is the first format that reproduces the first typed text; it is
    then checked on every distinct text (strptime takes its format as a constant)."""
    connection.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {TIMESTAMP_TEXTS} AS
        SELECT invoice_ts_text, ci_timestamp(invoice_ts_text, $date_formats) AS invoice_ts
        FROM (SELECT DISTINCT CAST({quote_identifier(source)} AS VARCHAR) AS invoice_ts_text
              FROM {STAGED_TABLE})
        """,
        {"date_formats": formats},
    )
    parses = "\n".join(
        f"WHEN try_strptime(trim(invoice_ts_text), {quote_literal(f)}) = invoice_ts "
        f"THEN {quote_literal(f)}"
        for f in formats
    )
    row = connection.execute(
        f"SELECT CASE {parses} END FROM {TIMESTAMP_TEXTS} WHERE invoice_ts IS NOT NULL LIMIT 1"
    ).fetchone()
    if not row or row[0] is None:
        return None
    (fits_all,) = one_row(
        connection,
        f"SELECT bool_and(try_strptime(trim(invoice_ts_text), {quote_literal(row[0])}) "
        f"IS NOT DISTINCT FROM invoice_ts) FROM {TIMESTAMP_TEXTS}",
    )
    return row[0] if fits_all else None


def _load_part(
    connection: duckdb.DuckDBPyConnection,
    part: StagedPart,
    display_name: str,
    layout: Layout,
    now: dt.datetime,
) -> tuple[int, int]:
    """Insert one staged part; returns (rows loaded, rows quarantined)."""
    try:
        resolved = resolve_columns(part.columns, layout)
    except MappingError as error:
        raise FileRejected(display_name, str(error)) from error
    missing = missing_required(resolved)
    if missing:
        where = f" (sheet {part.sheet!r})" if part.sheet else ""
        hint = (
            " Only one column was found, so the delimiter was not recognised (detected: "
            "comma, semicolon, pipe, tab); set `delimiter:` for this file in "
            "column_mappings.yaml."
            if part.kind == "csv" and len(part.columns) == 1
            else " Rename the columns or describe the layout in column_mappings.yaml."
        )
        raise FileRejected(
            display_name,
            f"missing required column(s){where}: {', '.join(missing)}; "
            f"the file has: {', '.join(part.columns) or '(no columns)'}.{hint}",
        )
    single_format = _type_timestamp_texts(connection, resolved["invoice_ts"], date_formats(layout))
    typed = _typed_select(resolved, part.source_row, single_format)
    order = "" if single_format else FILE_ORDER
    typing = {"decimal_mark": layout.decimal}
    lineage = {"source_file": display_name, "source_sheet": part.sheet, "now": now}
    (before,) = one_row(connection, "SELECT count(*) FROM raw.transactions")
    connection.execute(INSERT_TRANSACTIONS_SQL.format(typed=typed, order=order), lineage | typing)
    (after,) = one_row(connection, "SELECT count(*) FROM raw.transactions")
    loaded = int(after - before)
    quarantined = part.row_count - loaded
    if quarantined:
        connection.execute(INSERT_QUARANTINE_SQL.format(typed=typed), lineage | typing)
    connection.execute(f"DROP TABLE {TIMESTAMP_TEXTS}")
    for line, error_type, csv_line in part.unparsed_lines:
        connection.execute(
            "INSERT INTO raw.quarantine VALUES ($source_file, $source_sheet, $line, NULL, "
            "$reason, $raw, $now)",
            lineage
            | {
                "line": line,
                "reason": f"unparseable line: {error_type}",
                "raw": csv_line,
            },
        )
    return loaded, quarantined + len(part.unparsed_lines)


@dataclass(frozen=True)
class _Loaded:
    """What the ledger holds as loaded: this path's version, and every loaded content."""

    content_hash: str | None
    size_bytes: int | None
    modified_at: dt.datetime | None
    all_hashes: frozenset[str]

    def same_file(self, size_bytes: int, modified_at: dt.datetime) -> bool:
        """The path's loaded version has this size and modification time (make's and
        rsync's test): the file is taken as unchanged without reading it."""
        return (
            self.content_hash is not None
            and self.size_bytes == size_bytes
            and self.modified_at == modified_at
        )


def _previous_loaded(connection: duckdb.DuckDBPyConnection, display_name: str) -> _Loaded:
    rows = connection.execute(
        "SELECT file_path, content_hash, size_bytes, modified_at FROM raw.file_ledger "
        "WHERE status = 'loaded'"
    ).fetchall()
    same_path = next((row[1:] for row in rows if row[0] == display_name), (None, None, None))
    return _Loaded(*same_path, all_hashes=frozenset(row[1] for row in rows))


# DuckDB errors that a file's content can cause (a name or value DuckDB cannot take): the
# file is rejected and the other files load. Anything else (I/O, memory) stops the ingest.
_CONTENT_ERRORS = (
    duckdb.BinderException,
    duckdb.ConversionException,
    duckdb.InvalidInputException,
    duckdb.ParserException,
)


def ingest_file(
    connection: duckdb.DuckDBPyConnection,
    path: Path,
    display_name: str,
    layout: Layout,
    now: dt.datetime,
) -> FileOutcome:
    """Load one file atomically (see module docstring)."""
    previous = _previous_loaded(connection, display_name)
    if previous.same_file(*file_signature(path)):
        return FileOutcome(display_name, "unchanged")
    scan = scan_file(path)
    # The SHA-256 (one core, ~0.7 s per GB) runs in a thread beside DuckDB's read of the
    # file, which leaves part of the second core idle (10M rows: ~0.4 s less). Whether the
    # content is loaded already is settled once the first part is staged, before any write.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="content-hash") as pool:
        hashing = pool.submit(content_hash, path)
        return _load_file(connection, path, display_name, layout, now, previous, scan, hashing)


def _load_file(
    connection: duckdb.DuckDBPyConnection,
    path: Path,
    display_name: str,
    layout: Layout,
    now: dt.datetime,
    previous: _Loaded,
    scan: FileScan,
    hashing: Future[str],
) -> FileOutcome:
    connection.execute("BEGIN TRANSACTION")
    hashed: FileScan | None = None
    replaced = False
    try:
        rows_read = rows_loaded = rows_quarantined = 0
        for part in stage_parts(connection, path, display_name, layout, scan):
            if hashed is None:
                hashed = replace(scan, content_hash=hashing.result())
                if hashed.content_hash in previous.all_hashes:
                    connection.execute("ROLLBACK")
                    return _already_loaded(connection, display_name, hashed, previous)
                replaced = _supersede_previous(connection, display_name, previous)
            loaded, quarantined = _load_part(connection, part, display_name, layout, now)
            rows_read += part.row_count + len(part.unparsed_lines)
            rows_loaded += loaded
            rows_quarantined += quarantined
        _record(
            connection,
            display_name,
            hashed or replace(scan, content_hash=hashing.result()),
            layout,
            "loaded",
            rows_read,
            rows_loaded,
            rows_quarantined,
            None,
            now,
        )
        connection.execute("COMMIT")
    except (FileRejected, *_CONTENT_ERRORS) as error:
        connection.execute("ROLLBACK")
        hashed = hashed or replace(scan, content_hash=hashing.result())
        if hashed.content_hash in previous.all_hashes:
            return _already_loaded(connection, display_name, hashed, previous)
        message = str(error)
        if not isinstance(error, FileRejected):
            message = f"{display_name}: cannot be loaded: {message.strip().splitlines()[0]}"
        _record_rejection(connection, display_name, hashed, layout, message, now)
        return FileOutcome(display_name, "rejected", error=message)
    except BaseException as error:
        connection.execute("ROLLBACK")
        error.add_note(f"while loading {display_name} (rolled back; nothing of it was kept)")
        raise
    return FileOutcome(
        display_name, "loaded", rows_read, rows_loaded, rows_quarantined, replaced_previous=replaced
    )


def _already_loaded(
    connection: duckdb.DuckDBPyConnection, display_name: str, scan: FileScan, previous: _Loaded
) -> FileOutcome:
    """A file whose content is loaded already, under this path or another: nothing to load."""
    if scan.content_hash == previous.content_hash:
        # Touched or copied back with the same bytes: remember the new time, so the next run
        # skips it without reading it.
        connection.execute(
            "UPDATE raw.file_ledger SET modified_at = $m "
            "WHERE file_path = $f AND status = 'loaded'",
            {"m": scan.modified_at, "f": display_name},
        )
    return FileOutcome(display_name, "unchanged")


def _supersede_previous(
    connection: duckdb.DuckDBPyConnection, display_name: str, previous: _Loaded
) -> bool:
    """A changed file replaces every row its previous version contributed; True if there
    was one."""
    if previous.content_hash is None:
        return False
    for table in ("raw.transactions", "raw.quarantine"):
        connection.execute(f"DELETE FROM {table} WHERE source_file = $f", {"f": display_name})
    connection.execute(
        "UPDATE raw.file_ledger SET status = 'superseded' "
        "WHERE file_path = $f AND status = 'loaded'",
        {"f": display_name},
    )
    return True


def _record(
    connection: duckdb.DuckDBPyConnection,
    display_name: str,
    scan: FileScan,
    layout: Layout,
    status: str,
    rows_read: int,
    rows_loaded: int,
    rows_quarantined: int,
    error: str | None,
    now: dt.datetime,
) -> None:
    """Add the ledger entry of a file version. A path keeps at most one 'rejected' entry:
    the latest outcome replaces an earlier rejection of the same path."""
    connection.execute(
        "DELETE FROM raw.file_ledger WHERE file_path = $f AND status = 'rejected'",
        {"f": display_name},
    )
    connection.execute(
        "INSERT INTO raw.file_ledger (file_path, content_hash, size_bytes, layout, status, "
        "rows_read, rows_loaded, rows_quarantined, error, ingested_at, modified_at) "
        "VALUES ($p, $h, $s, $layout, $status, $read, $loaded, $quarantined, $error, $now, $m)",
        {
            "p": display_name,
            "h": scan.content_hash,
            "s": scan.size_bytes,
            "m": scan.modified_at,
            "layout": layout.name,
            "status": status,
            "read": rows_read,
            "loaded": rows_loaded,
            "quarantined": rows_quarantined,
            "error": error,
            "now": now,
        },
    )


def _record_rejection(connection, display_name, scan, layout, message, now) -> None:
    connection.execute("BEGIN TRANSACTION")
    _record(
        connection,
        display_name,
        scan,
        layout,
        "rejected",
        0,
        0,
        0,
        message,
        now,
    )
    connection.execute("COMMIT")


def ingest_landing(
    connection: duckdb.DuckDBPyConnection,
    landing_dir: Path,
    mappings_path: Path,
    now: dt.datetime | None = None,
) -> IngestReport:
    """Load every new or changed file under ``landing_dir``."""
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    ensure_raw_schema(connection)
    connection.execute(TYPING_MACROS_SQL)
    layouts = load_layouts(mappings_path)
    report = IngestReport()
    for path in discover_files(landing_dir):
        display_name = path.relative_to(landing_dir).as_posix()
        layout = layout_for(path.name, layouts)
        outcome = ingest_file(connection, path, display_name, layout, now)
        if outcome.status == "rejected":
            log.error("rejected %s", outcome.error)
        elif outcome.status == "loaded":
            log.info(
                "loaded %s: %d rows, %d quarantined",
                display_name,
                outcome.rows_loaded,
                outcome.rows_quarantined,
            )
        report.files.append(outcome)
    return report
