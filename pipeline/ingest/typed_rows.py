"""The typing of one staged part, generated per file: the SELECT that types every
canonical column from the staged text and lists each row's problems, and the typing of the
part's distinct timestamp texts. The rules themselves are the macros of typing_macros.sql;
what is generated here is only what depends on the file (its column names, its date
formats, its decimal mark).
"""

from __future__ import annotations

import duckdb

from pipeline.ingest.column_mapping import CANONICAL_COLUMNS, Layout
from pipeline.ingest.readers import STAGED_TABLE
from pipeline.ingest.sql_files import read_sql
from pipeline.sql_text import one_row, quote_identifier, quote_literal

# The view the static inserts (insert_transactions.sql, insert_quarantine.sql) read.
TYPED_VIEW = "_typed_rows"

# strptime's %Y also takes a two-digit year ('12/1/10' -> the year 10), so each %y format
# comes before its %Y twin (%y takes exactly two digits and never reads '2010').
MONTH_FIRST_FORMATS = [
    "%m/%d/%y %H:%M",
    "%m/%d/%y",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y",
    "%m/%d/%y %I:%M %p",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %I:%M:%S %p",
]
DAY_FIRST_FORMATS = [
    "%d/%m/%y %H:%M",
    "%d/%m/%y",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y",
    "%d/%m/%y %I:%M %p",
    "%d/%m/%Y %I:%M %p",
    "%d/%m/%Y %I:%M:%S %p",
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
    "%Y-%m-%d %I:%M:%S %p",
    "%Y-%m-%d %I:%M %p",
    "%Y/%m/%d %I:%M:%S %p",
    "%d.%m.%Y %I:%M %p",
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


# The checks that send a row to quarantine: (condition over the typed row, message).
# ``{decimal_mark}`` is the layout's decimal mark as a SQL literal.
ROW_CHECKS: tuple[tuple[str, str], ...] = (
    (
        "quantity IS NULL AND ci_number_given(quantity_text)",
        "'quantity: ' || ci_number_problem(quantity_text, {decimal_mark})",
    ),
    (
        "unit_price IS NULL AND ci_number_given(unit_price_text)",
        "'unit_price: ' || ci_number_problem(unit_price_text, {decimal_mark})",
    ),
    (
        "ci_number_given(line_amount_text) AND ci_number(line_amount_text, {decimal_mark}) IS NULL",
        "'line_amount: ' || ci_number_problem(line_amount_text, {decimal_mark})",
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
    (
        "line_amount IS NULL AND quantity IS NOT NULL AND unit_price IS NOT NULL",
        "'line_amount: quantity * unit_price beyond the sane magnitude 1e12: ' "
        "|| quantity_text || ' * ' || unit_price_text",
    ),
)

# Each distinct timestamp text of the staged part, typed through the format list.
TIMESTAMP_TEXTS = "_timestamp_texts"

ALL_TYPED = (
    "quantity IS NOT NULL AND unit_price IS NOT NULL AND invoice_ts IS NOT NULL "
    "AND line_amount IS NOT NULL"
)


def repeated_header_sql(resolved: dict[str, str]) -> str:
    """True on a row whose every mapped value repeats its own header (a header repeated
    mid-file); the CASE compares the other columns only on rows whose first value is its
    header."""
    header_tests = [
        f"ci_blank(CAST({quote_identifier(s)} AS VARCHAR)) = {quote_literal(s)}"
        for s in resolved.values()
    ]
    if not header_tests:
        return "false"
    return f"CASE WHEN {header_tests[0]} THEN {' AND '.join(header_tests)} ELSE false END"


def error_cell_checks(resolved: dict[str, str]) -> list[tuple[str, str]]:
    """Checks of a spreadsheet part: a mapped column holding an error cell (staged as
    '#DIV/0! (error cell)' by excel.py) fails its row against that column."""
    texts = {"quantity", "invoice_ts", "unit_price", "line_amount"}  # kept as text columns
    columns = [f"{c}_text" if c in texts else c for c in resolved]
    return [
        (f"ends_with(lower({column}), ' (error cell)')", f"'{c}: ' || {column}")
        for c, column in zip(resolved, columns, strict=True)
    ]


def row_checks_sql(
    decimal_mark: str, first_checks: list[tuple[str, str]] | None = None
) -> tuple[str, str]:
    """(is_valid, errors) expressions over the typed row.

    is_valid is the checks as a CASE, which tests each one only on the rows that passed the
    ones before: much cheaper than building every row's error list to test its length. A
    row whose four values all typed fails none of them (each check needs a null value), so
    that test comes first and settles almost every row with four null tests."""
    mark = quote_literal(decimal_mark)
    first = first_checks or []
    checks = [
        (check.format(decimal_mark=mark), message.format(decimal_mark=mark))
        for check, message in ROW_CHECKS
    ]
    first_failed = "\n            ".join(
        [
            *(f"WHEN {check} THEN false" for check, _ in first),
            f"WHEN {ALL_TYPED} THEN true",
            *(f"WHEN {check} THEN false" for check, _ in checks),
        ]
    )
    checks = first + checks
    is_valid = "\n            ".join(
        ["CASE WHEN is_repeated_header THEN false", first_failed, "ELSE true END"]
    )
    error_list = ",\n            ".join(
        f"CASE WHEN {check} THEN {message} END" for check, message in checks
    )
    errors = (
        "CASE WHEN is_repeated_header THEN ['header: repeated header row'] ELSE list_filter([\n"
        f"            {error_list}\n        ], lambda e: e IS NOT NULL) END"
    )
    return is_valid, errors


def typed_select(
    resolved: dict[str, str],
    source_row: str,
    decimal_mark: str = ".",
    timestamp_format: str | None = None,
    error_cells: bool = False,
) -> str:
    """SELECT over the staged text rows: typed canonical columns, is_valid and a list of
    errors, in file order.

    ``timestamp_format``: one strptime format proven to type every distinct timestamp text
    of the part exactly as the format list does; without it the timestamps come from the
    part's TIMESTAMP_TEXTS (both from :func:`type_timestamp_texts`).
    """

    def raw(canonical: str) -> str:
        source = resolved.get(canonical)
        return f"CAST({quote_identifier(source)} AS VARCHAR)" if source else "NULL::VARCHAR"

    decimal = quote_literal(decimal_mark)
    raw_columns = ",\n            ".join(f"{raw(c)} AS {c}_text" for c in CANONICAL_COLUMNS)
    mapped_sources = [quote_identifier(s) for s in resolved.values()]
    line_amount = (
        f"ci_number(line_amount_text, {decimal})"
        if "line_amount" in resolved
        else "ci_sane(quantity * unit_price)"
    )
    # A failed strptime format is slow, and most rows try several formats before one fits;
    # a file repeats each invoice's time on every line, so each distinct text is typed once
    # (TIMESTAMP_TEXTS) and joined back, unless one format is known to fit them all. The
    # join does not keep file order: then the rows are sorted back.
    if timestamp_format is None:
        invoice_ts = "timestamps.invoice_ts"
        join_timestamps = f" LEFT JOIN {TIMESTAMP_TEXTS} timestamps USING (invoice_ts_text)"
        file_order = "\n    ORDER BY source_row"
    else:
        invoice_ts = f"try_strptime(ci_blank(invoice_ts_text), {quote_literal(timestamp_format)})"
        join_timestamps = file_order = ""
    is_valid, errors = row_checks_sql(
        decimal_mark, error_cell_checks(resolved) if error_cells else None
    )
    return f"""
    WITH text_rows AS (
        SELECT
            {raw_columns},
            ({repeated_header_sql(resolved)}) AS is_repeated_header,
            {source_row} AS source_row,
            to_json(struct_pack({", ".join(f"{s} := {s}" for s in mapped_sources)}))::VARCHAR
                AS raw_record
        FROM {STAGED_TABLE}
    ), typed AS (
        SELECT
            ci_blank(invoice_id_text) AS invoice_id,
            upper(ci_blank(stock_code_text)) AS stock_code,
            ci_blank(description_text) AS description,
            ci_number(quantity_text, {decimal}) AS quantity,
            {invoice_ts} AS invoice_ts,
            ci_number(unit_price_text, {decimal}) AS unit_price,
            ci_customer_id(customer_id_text) AS customer_id,
            ci_blank(country_text) AS country,
            text_rows.* EXCLUDE (invoice_id_text, stock_code_text, description_text,
                                 customer_id_text, country_text)
        FROM text_rows{join_timestamps}
    ), with_amount AS (
        SELECT *, {line_amount} AS line_amount FROM typed
    )
    SELECT *,
        {is_valid} AS is_valid,
        {errors} AS errors
    FROM with_amount{file_order}
    """


def create_typed_view(connection: duckdb.DuckDBPyConnection, select: str) -> None:
    """The typed rows of the staged part as the view the static inserts read."""
    connection.execute(f"CREATE OR REPLACE TEMP VIEW {TYPED_VIEW} AS {select}")


def type_timestamp_texts(
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
        f"WHEN try_strptime(ci_blank(invoice_ts_text), {quote_literal(f)}) = invoice_ts "
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
        f"SELECT bool_and(try_strptime(ci_blank(invoice_ts_text), {quote_literal(row[0])}) "
        f"IS NOT DISTINCT FROM invoice_ts) FROM {TIMESTAMP_TEXTS}",
    )
    return row[0] if fits_all else None


def create_typing_macros(connection: duckdb.DuckDBPyConnection) -> None:
    """The typing rules (typing_macros.sql) as temp macros of ``connection``."""
    connection.execute(read_sql("typing_macros.sql"))
