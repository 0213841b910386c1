"""Ingestion: formats, encodings, column mapping, the ledger, quarantine and bad files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pandas as pd
import pytest

from pipeline.ingest import ingest_landing, loading
from pipeline.ingest.column_mapping import MappingError, load_layouts
from pipeline.ingest.typed_rows import create_typing_macros
from tests.conftest import UCI_HEADER, write_csv

GOOD_ROWS = [
    "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850.0,United Kingdom",
    "536365,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,17850,United Kingdom",
    "536366,22633,HAND WARMER UNION JACK,6,12/1/2010 8:28,1.85,,United Kingdom",
]


def ingest(connection, landing: Path, mappings: Path | None = None):
    return ingest_landing(connection, landing, mappings or landing.parent / "none.yaml")


def table(connection, sql: str) -> list[tuple]:
    return connection.execute(sql).fetchall()


def snapshot(connection) -> dict[str, list[tuple]]:
    """Everything loaded so far, to prove that a rejected file changes nothing."""
    return {
        name: table(connection, f"SELECT * EXCLUDE (ingested_at) FROM raw.{name} ORDER BY ALL")
        for name in ("transactions",)
    } | {"quarantine": table(connection, "SELECT * FROM raw.quarantine ORDER BY ALL")}


def test_uci_csv_is_typed_with_lineage(connection, landing):
    write_csv(landing / "online_retail.csv", GOOD_ROWS)
    report = ingest(connection, landing)
    assert [(f.status, f.rows_read, f.rows_loaded) for f in report.files] == [("loaded", 3, 3)]
    rows = table(
        connection,
        "SELECT invoice_id, quantity, invoice_ts, unit_price, customer_id, line_amount, "
        "source_file, source_row FROM raw.transactions ORDER BY source_row",
    )
    assert rows[0][:5] == ("536365", 6.0, dt.datetime(2010, 12, 1, 8, 26), 2.55, "17850")
    assert rows[0][5] == pytest.approx(15.3)
    assert [r[6:] for r in rows] == [
        ("online_retail.csv", 2),
        ("online_retail.csv", 3),
        ("online_retail.csv", 4),
    ]
    assert rows[2][4] is None  # empty CustomerID stays null for the cleaning rule


@pytest.mark.parametrize(
    ("dates", "one_format"),
    [
        (["12/1/2010 8:26", "12/1/2010 8:28", "1/13/2011 17:05", "", "12/9/2011 12:50"], True),
        # two formats and an ISO time: each distinct text goes through the whole list
        (["12/1/2010 8:26", "13.01.2011 17:05", "2011-12-09 12:50:00", "", "1/2/11"], False),
    ],
)
def test_timestamps_are_typed_in_file_order_with_one_format_or_many(
    connection, landing, dates, one_format
):
    from pipeline.ingest.column_mapping import layout_for
    from pipeline.ingest.typed_rows import date_formats, type_timestamp_texts

    rows = [f"5{i:05d},X{i},ITEM,1,{date},1.5,{12346 + i},UK" for i, date in enumerate(dates * 400)]
    write_csv(landing / "dates.csv", rows)
    report = ingest(connection, landing)
    assert report.files[0].rows_read == len(rows)
    expected = {
        "12/1/2010 8:26": dt.datetime(2010, 12, 1, 8, 26),
        "12/1/2010 8:28": dt.datetime(2010, 12, 1, 8, 28),
        "1/13/2011 17:05": dt.datetime(2011, 1, 13, 17, 5),
        "12/9/2011 12:50": dt.datetime(2011, 12, 9, 12, 50),
        "13.01.2011 17:05": dt.datetime(2011, 1, 13, 17, 5),
        "2011-12-09 12:50:00": dt.datetime(2011, 12, 9, 12, 50),
        "1/2/11": dt.datetime(2011, 1, 2),
    }
    loaded = table(connection, "SELECT source_row, invoice_ts FROM raw.transactions ORDER BY rowid")
    assert [r for r, _ in loaded] == sorted(r for r, _ in loaded)  # file order
    assert [ts for _, ts in loaded] == [expected[d] for d in dates * 400 if d]
    assert table(connection, "SELECT count(*) FROM raw.quarantine") == [(400,)]  # the blanks

    # the staged table of the last file is still there: which path was taken
    layout = layout_for("dates.csv", [])
    found = type_timestamp_texts(connection, "InvoiceDate", date_formats(layout))
    assert (found == "%m/%d/%Y %H:%M") if one_format else found is None


def test_online_retail_ii_parquet(connection, landing):
    frame = pd.DataFrame(
        {
            "Invoice": ["489434", "C489449"],
            "StockCode": ["85048", "22087"],
            "Description": ["15CM CHRISTMAS GLASS BALL", "PAPER BUNTING"],
            "Quantity": [12, -12],
            "InvoiceDate": pd.to_datetime(["2009-12-01 07:45", "2009-12-01 10:33"]),
            "Price": [6.95, 2.95],
            "Customer ID": [13085.0, 16321.0],
            "Country": ["United Kingdom", "Australia"],
        }
    )
    frame.to_parquet(landing / "online_retail_ii.parquet")
    ingest(connection, landing)
    rows = table(
        connection,
        "SELECT invoice_id, quantity, invoice_ts, customer_id, source_row FROM raw.transactions "
        "ORDER BY source_row",
    )
    assert rows == [
        ("489434", 12.0, dt.datetime(2009, 12, 1, 7, 45), "13085", 1),
        ("C489449", -12.0, dt.datetime(2009, 12, 1, 10, 33), "16321", 2),
    ]


def test_excel_reads_every_sheet_and_skips_empty_ones(connection, landing):
    sheet = pd.DataFrame(
        {
            "Invoice": ["1", "2"],
            "StockCode": ["A", "B"],
            "Description": ["X", "Y"],
            "Quantity": [1, 2],
            "InvoiceDate": ["2010-01-04 09:00", "2010-01-05 10:00"],
            "Price": [1.5, 2.5],
            "Customer ID": ["12346", "12347"],
            "Country": ["France", "Spain"],
        }
    )
    with pd.ExcelWriter(landing / "retail_ii.xlsx") as writer:
        sheet.to_excel(writer, sheet_name="Year 2009-2010", index=False)
        sheet.assign(Invoice=["3", "4"]).to_excel(writer, sheet_name="Year 2010-2011", index=False)
        pd.DataFrame().to_excel(writer, sheet_name="Notes", index=False)
    report = ingest(connection, landing)
    assert report.files[0].rows_loaded == 4
    rows = table(
        connection,
        "SELECT source_sheet, source_row, invoice_id, invoice_ts FROM raw.transactions "
        "ORDER BY ALL",
    )
    assert rows[0] == ("Year 2009-2010", 2, "1", dt.datetime(2010, 1, 4, 9, 0))
    assert {r[0] for r in rows} == {"Year 2009-2010", "Year 2010-2011"}


@pytest.mark.parametrize(
    ("name", "content", "encoding"),
    [
        (
            "latin1.csv",
            UCI_HEADER + "\n1,A,CAFÉ CRÈME,2,12/1/2010 8:26,1.5,12346,France\n",
            "latin-1",
        ),
        (
            "bom.csv",
            "\ufeff" + UCI_HEADER + "\n1,A,CAFÉ,2,12/1/2010 8:26,1.5,12346,France\n",
            "utf-8",
        ),
        (
            "semicolon.csv",
            UCI_HEADER.replace(",", ";") + "\n1;A;CAFÉ;2;12/1/2010 8:26;1,5;12346;France\n",
            "utf-8",
        ),
        (
            "tabs.tsv",
            UCI_HEADER.replace(",", "\t") + "\n1\tA\tCAFÉ\t2\t12/1/2010 8:26\t1.5\t12346\tFrance\n",
            "utf-8",
        ),
    ],
)
def test_encodings_and_delimiters(connection, landing, name, content, encoding):
    (landing / name).write_bytes(content.encode(encoding))
    ingest(connection, landing)
    rows = table(connection, "SELECT description, unit_price, customer_id FROM raw.transactions")
    assert rows[0][0].startswith("CAF\u00c9")
    assert rows[0][1:] == (1.5, "12346")


def test_blank_macro_fast_path_agrees_with_the_full_rule_for_every_edge_character(connection):
    """ci_blank skips the trim for ASCII text that starts and ends with a printable
    character; every other text must still come out as the full rule (trimmed, blank or a
    missing-value token to null)."""
    create_typing_macros(connection)
    edges = [
        " ",
        "\t",
        "\n",
        "\x7f",
        "\u00a0",
        "\u2003",
        "\u3000",
        "\ufeff",
        "!",
        "~",
        "\u00e9",
        "\u200b",
        "\x0b",
        "\r",
        "",
    ]
    texts = [None, "", " ", "a", "~", "!", "NULL", "n/a", "\\N", "\tnull\u00a0"] + [
        f"{left}ab{middle}c{right}"
        for left in edges
        for middle in ("", " ", "\u00a0")
        for right in edges
    ]
    rows = connection.execute(
        "SELECT s, ci_blank(s), ci_value(ci_trimmed(s)) FROM unnest($texts::VARCHAR[]) AS t(s)",
        {"texts": texts},
    ).fetchall()
    assert len(rows) == len(texts)
    assert [(s, fast) for s, fast, _ in rows] == [(s, slow) for s, _, slow in rows]
    by_text = {s: fast for s, fast, _ in rows}
    assert [by_text[t] for t in ("NULL", "n/a", "\\N", "\tnull\u00a0")] == [None] * 4
    assert by_text["\tab c\u200b"] == "ab c"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2010-12-01 08:26:00+01:00", dt.datetime(2010, 12, 1, 7, 26)),
        ("2010-12-01T08:26:00-05:00", dt.datetime(2010, 12, 1, 13, 26)),
        ("2010-12-01 08:26:00+0200", dt.datetime(2010, 12, 1, 6, 26)),
        ("2010-12-01 08:26:00 +02:00", dt.datetime(2010, 12, 1, 6, 26)),
        ("2010-12-01T23:30+02", dt.datetime(2010, 12, 1, 21, 30)),
        ("2010-12-01T08:26:00.5Z", dt.datetime(2010, 12, 1, 8, 26, 0, 500000)),
        ("2010-12-01T08:26:00", dt.datetime(2010, 12, 1, 8, 26)),
        ("2010-12-01", dt.datetime(2010, 12, 1)),
        ("12/1/2010 1:05 PM", dt.datetime(2010, 12, 1, 13, 5)),
        ("12/1/2010 12:05 AM", dt.datetime(2010, 12, 1, 0, 5)),
        ("12/1/2010 12:05 pm", dt.datetime(2010, 12, 1, 12, 5)),
        ("12/1/2010 01:05:00 pm", dt.datetime(2010, 12, 1, 13, 5)),
        ("12/1/10 1:05 PM", dt.datetime(2010, 12, 1, 13, 5)),
        ("13/12/2010 1:05 PM", dt.datetime(2010, 12, 13, 13, 5)),
        ("2010-12-01 01:05:00 PM", dt.datetime(2010, 12, 1, 13, 5)),
        ("\t12/1/2010 8:26\u00a0", dt.datetime(2010, 12, 1, 8, 26)),
        ("12/1/2010 13:05 PM", None),
        ("NULL", None),
    ],
)
def test_timestamps_with_offsets_are_utc_and_12_hour_times_are_read(connection, text, expected):
    from pipeline.ingest.column_mapping import DEFAULT_LAYOUT
    from pipeline.ingest.typed_rows import date_formats

    create_typing_macros(connection)
    got = connection.execute(
        "SELECT ci_timestamp($t, $formats)", {"t": text, "formats": date_formats(DEFAULT_LAYOUT)}
    ).fetchone()[0]
    assert got == expected


@pytest.mark.parametrize(
    ("text", "number", "problem"),
    [
        ("6", 6.0, None),
        ("\t6\u00a0", 6.0, None),
        ("-1e12", -1e12, None),
        ("1000000000001", None, "beyond the sane magnitude 1e12: 1000000000001"),
        ("-2.5e13", None, "beyond the sane magnitude 1e12: -2.5e13"),
        ("1e400", None, "not a number: 1e400"),
        ("NaN", None, "not a number: NaN"),
        ("-inf", None, "not a number: -inf"),
        ("NULL", None, None),
        ("", None, None),
    ],
)
def test_numbers_beyond_the_sane_magnitude_are_not_amounts(connection, text, number, problem):
    create_typing_macros(connection)
    typed, given, why = connection.execute(
        "SELECT ci_number($t, '.'), ci_number_given($t), ci_number_problem($t, '.')", {"t": text}
    ).fetchone()
    assert typed == number
    assert (why if given and typed is None else None) == problem


def test_utf8_check_sees_a_bad_byte_after_ascii_chunks(tmp_path, monkeypatch):
    """The UTF-8 check skips decoding ASCII chunks; a sequence cut at a chunk's end, or a
    bad byte in a later chunk, must still make the file non-UTF-8 (a good one stays UTF-8)."""
    from pipeline.ingest import encodings

    monkeypatch.setattr(encodings, "_CHUNK", 4)
    cases = {
        "ascii.csv": (b"abcdefgh", "utf-8"),
        "split_sequence.csv": (b"abc\xc3\xa9fgh", "utf-8"),  # e-acute across chunks 1 and 2
        # a lead byte, an ASCII chunk, then a continuation byte: not one character
        "cut_sequence.csv": (b"abc\xc3abcd\xa9bc", "latin-1"),
        "late_latin1.csv": (b"abcdefgh\xe9", "latin-1"),
        "truncated_end.csv": (b"abcdefg\xc3", "latin-1"),
        "late_euro_sign.csv": (b"abcdefgh\x80", "cp1252"),
    }
    for name, (content, encoding) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        assert (name, encodings.detect_encoding(path)) == (name, encoding)


@pytest.mark.parametrize(
    ("content", "encoding"),
    [
        (b"\xef\xbb\xbfa,b\n", "utf-8-sig"),
        ("a,b\n".encode("utf-16"), "utf-16-le"),  # Python writes a little-endian BOM
        (b"\xfe\xff" + "a,b\n".encode("utf-16-be"), "utf-16-be"),
        ("a,b\n".encode("utf-32"), "utf-32-le"),
        (b"\x00\x00\xfe\xff" + "a,b\n".encode("utf-32-be"), "utf-32-be"),
        ("Invoice,Price\n1,2\n".encode("utf-16-le"), "utf-16-le"),  # no BOM: NUL pattern
        ("Invoice,Price\n1,2\n".encode("utf-16-be"), "utf-16-be"),
        ("caf\u00e9 \u20ac \u201cq\u201d".encode("cp1252"), "cp1252"),
        ("caf\u00e9 \u00f6".encode("latin-1"), "latin-1"),
        (b"caf\xe9 \x81", "latin-1"),  # 0x81 is not a cp1252 character
        ("caf\u00e9 \u20ac".encode(), "utf-8"),
    ],
)
def test_encodings_are_detected_by_bom_nul_pattern_and_byte_ranges(tmp_path, content, encoding):
    from pipeline.ingest.encodings import detect_encoding, transcode_to_utf8

    path = tmp_path / "file.csv"
    path.write_bytes(content)
    assert detect_encoding(path) == encoding
    target = tmp_path / "utf8.csv"
    transcode_to_utf8(path, encoding, target)
    assert target.read_text(encoding="utf-8") == content.decode(encoding).removeprefix("\ufeff")


def test_binary_content_is_not_text(tmp_path):
    from pipeline.ingest.encodings import BinaryContent, detect_encoding

    path = tmp_path / "junk.csv"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(BinaryContent, match="binary data, not text"):
        detect_encoding(path)


@pytest.mark.parametrize(
    ("price", "expected"),
    [
        ("£2.55", 2.55),
        ("$1,234.50", 1234.5),
        ("1.234,50", 1234.5),
        ("2,55", 2.55),
        (" 3 ", 3.0),
        ("EUR 4.10", 4.1),
    ],
)
def test_price_notations(connection, landing, price, expected):
    write_csv(landing / "p.csv", [f'1,A,X,1,12/1/2010 8:26,"{price}",12346,UK'])
    ingest(connection, landing)
    assert table(connection, "SELECT unit_price FROM raw.transactions") == [(expected,)]


def test_mixed_date_formats_in_one_file(connection, landing):
    dates = [
        "12/1/2010 8:26",
        "2010-12-01 08:26:00",
        "2010-12-01T08:26:00",
        "20101201",
        "01.12.2010 08:26",
    ]
    write_csv(landing / "d.csv", [f"{i},A,X,1,{d},1,12346,UK" for i, d in enumerate(dates)])
    ingest(connection, landing)
    parsed = [r[0].date() for r in table(connection, "SELECT invoice_ts FROM raw.transactions")]
    assert parsed == [dt.date(2010, 12, 1)] * len(dates)


def test_rows_that_cannot_be_typed_are_quarantined_with_row_and_column(connection, landing):
    write_csv(
        landing / "dirty.csv",
        [
            GOOD_ROWS[0],
            "536366,22633,HAND WARMER,six,12/1/2010 8:28,1.85,17850,United Kingdom",
            UCI_HEADER,
            "536367,22633,HAND WARMER,6,31/31/2010 8:28,1.85,17850,United Kingdom",
            "536368,22633,HAND WARMER,6,12/1/2010 8:28,1.85,17850,United Kingdom,EXTRA,FIELDS",
            "536369,22633,HAND WARMER,6,,1.85,17850,United Kingdom",
            "536370,22633,HAND WARMER,nan,12/1/2010 8:28,1.85,17850,United Kingdom",
        ],
    )
    report = ingest(connection, landing)
    outcome = report.files[0]
    assert (outcome.rows_read, outcome.rows_loaded, outcome.rows_quarantined) == (7, 1, 6)
    quarantined = table(
        connection, "SELECT source_row, column_name, reason FROM raw.quarantine ORDER BY source_row"
    )
    assert [(row, column) for row, column, _ in quarantined] == [
        (3, "quantity"),
        (4, "header"),
        (5, "invoice_ts"),
        (6, None),
        (7, "invoice_ts"),
        (8, "quantity"),
    ]
    assert "not a number: six" in quarantined[0][2]
    assert "too many columns" in quarantined[3][2]
    raw_record = table(connection, "SELECT raw_record FROM raw.quarantine WHERE source_row = 3")
    assert '"Quantity":"six"' in raw_record[0][0]


def test_ledger_makes_reingest_a_noop_and_replaces_a_changed_file(connection, landing):
    path = write_csv(landing / "daily.csv", GOOD_ROWS)
    ingest(connection, landing)
    again = ingest(connection, landing)
    assert [f.status for f in again.files] == ["unchanged"]
    assert table(connection, "SELECT count(*) FROM raw.transactions") == [(3,)]

    write_csv(
        path,
        GOOD_ROWS[:2] + ["536399,X,NEW,1,12/2/2010 9:00,1,12346,UK", "bad,X,Y,z,1/1/2010,1,1,UK"],
    )
    changed = ingest(connection, landing)
    assert changed.files[0].replaced_previous
    assert table(connection, "SELECT count(*) FROM raw.transactions") == [(3,)]
    assert table(connection, "SELECT count(*) FROM raw.quarantine") == [(1,)]
    assert table(connection, "SELECT status FROM raw.file_ledger ORDER BY ingested_at, status") == [
        ("superseded",),
        ("loaded",),
    ] or sorted(table(connection, "SELECT status FROM raw.file_ledger")) == [
        ("loaded",),
        ("superseded",),
    ]

    (landing / "copy_of_daily.csv").write_bytes(path.read_bytes())
    before_copy = snapshot(connection)
    copy = ingest(connection, landing)
    assert {f.file_path: f.status for f in copy.files}["copy_of_daily.csv"] == "unchanged"
    # The copy was staged while its hash was computed, then dropped: nothing of it is kept.
    assert snapshot(connection) == before_copy
    assert table(
        connection, "SELECT count(*) FROM raw.file_ledger WHERE file_path = 'copy_of_daily.csv'"
    ) == [(0,)]


def test_unchanged_size_and_time_skip_the_read_and_new_bytes_are_loaded(
    connection, landing, monkeypatch
):
    import os

    path = write_csv(landing / "daily.csv", GOOD_ROWS)
    ingest(connection, landing)
    scanned = []
    real_scan = loading.scan_file
    monkeypatch.setattr(loading, "scan_file", lambda p: scanned.append(p.name) or real_scan(p))

    assert [f.status for f in ingest(connection, landing).files] == ["unchanged"]
    assert scanned == []  # same size and modification time: not read at all

    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))  # touched
    assert [f.status for f in ingest(connection, landing).files] == ["unchanged"]
    assert scanned == ["daily.csv"]  # hashed once, same bytes; the new time is kept
    ingest(connection, landing)
    assert scanned == ["daily.csv"]

    # Same size, later time, other bytes: loaded again.
    changed = path.read_text().replace("17850", "17851")
    assert len(changed) == stat.st_size
    path.write_text(changed)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10_000_000_000))
    report = ingest(connection, landing)
    assert report.files[0].status == "loaded" and report.files[0].replaced_previous
    assert table(
        connection, "SELECT DISTINCT customer_id FROM raw.transactions WHERE customer_id > ''"
    ) == [("17851",)]
    ledger = table(
        connection,
        "SELECT size_bytes, modified_at FROM raw.file_ledger WHERE status = 'loaded'",
    )
    expected = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=path.stat().st_mtime_ns // 1000)
    assert ledger == [(stat.st_size, expected)]


def test_a_ledger_without_modification_times_gains_the_column(connection, landing):
    connection.execute(
        "CREATE SCHEMA raw; CREATE TABLE raw.file_ledger (file_path VARCHAR NOT NULL, "
        "content_hash VARCHAR NOT NULL, size_bytes BIGINT NOT NULL, layout VARCHAR, "
        "status VARCHAR NOT NULL, rows_read BIGINT NOT NULL, rows_loaded BIGINT NOT NULL, "
        "rows_quarantined BIGINT NOT NULL, error VARCHAR, ingested_at TIMESTAMP NOT NULL)"
    )
    write_csv(landing / "daily.csv", GOOD_ROWS)
    assert [f.status for f in ingest(connection, landing).files] == ["loaded"]
    assert [f.status for f in ingest(connection, landing).files] == ["unchanged"]
    assert table(connection, "SELECT count(modified_at) FROM raw.file_ledger") == [(1,)]


def _rejects(connection, landing, name, content: bytes) -> str:
    write_csv(landing / "good.csv", GOOD_ROWS)
    ingest(connection, landing)
    before = snapshot(connection)
    (landing / name).write_bytes(content)
    report = ingest(connection, landing)
    outcome = {f.file_path: f for f in report.files}[name]
    assert outcome.status == "rejected"
    assert snapshot(connection) == before
    ledger = table(
        connection, f"SELECT status, error FROM raw.file_ledger WHERE file_path = '{name}'"
    )
    assert ledger == [("rejected", outcome.error)]
    return outcome.error


def test_empty_file_is_rejected_and_changes_nothing(connection, landing):
    assert _rejects(connection, landing, "empty.csv", b"") == "empty.csv: the file is empty"


def test_missing_required_column_names_the_file_and_the_column(connection, landing):
    error = _rejects(
        connection,
        landing,
        "no_customer.csv",
        b"InvoiceNo,InvoiceDate,Quantity,UnitPrice\n1,12/1/2010 8:26,1,1\n",
    )
    assert error.startswith("no_customer.csv: missing required column(s): customer_id")
    assert "the file has: InvoiceNo, InvoiceDate, Quantity, UnitPrice" in error


def test_truncated_parquet_is_rejected(connection, landing, tmp_path):
    pd.DataFrame(
        {"CustomerID": ["1"] * 100, "InvoiceDate": ["2010-01-01"] * 100, "Amount": [1.0] * 100}
    ).to_parquet(tmp_path / "t.parquet")
    content = (tmp_path / "t.parquet").read_bytes()
    error = _rejects(connection, landing, "truncated.parquet", content[: len(content) // 2])
    assert error.startswith("truncated.parquet: cannot be read as Parquet")


def test_unsupported_file_type_is_rejected(connection, landing):
    error = _rejects(connection, landing, "orders.json", b'{"a": 1}')
    assert "unsupported file type .json" in error


def test_header_only_file_loads_zero_rows(connection, landing):
    write_csv(landing / "header_only.csv", [])
    report = ingest(connection, landing)
    assert [(f.status, f.rows_read) for f in report.files] == [("loaded", 0)]


def test_hostile_column_names_are_quoted(connection, landing):
    header = UCI_HEADER + ',"x"""; DROP TABLE raw.transactions; --"'
    write_csv(landing / 'it\'s a "file".csv', [GOOD_ROWS[0] + ",1"], header=header)
    ingest(connection, landing)
    assert table(connection, "SELECT source_file, customer_id FROM raw.transactions") == [
        ('it\'s a "file".csv', "17850")
    ]


def test_user_mapping_for_a_whitespace_separated_layout(connection, landing, data_dir):
    (landing / "CDNOW_master.txt").write_text(
        "00001 19970101  1  11.77\n00002 19970112  2  89.00\n00003 19970102  2  20.76\n"
    )
    mappings = data_dir / "column_mappings.yaml"
    mappings.write_text(
        """
layouts:
  - name: cdnow
    files: "CDNOW_*.txt"
    delimiter: whitespace
    header: false
    columns: {customer_id: 1, invoice_ts: 2, quantity: 3, line_amount: 4}
    date_format: "%Y%m%d"
"""
    )
    ingest(connection, landing, mappings)
    rows = table(
        connection,
        "SELECT customer_id, invoice_ts, quantity, line_amount, source_row "
        "FROM raw.transactions ORDER BY source_row",
    )
    assert rows[0] == ("00001", dt.datetime(1997, 1, 1), 1.0, 11.77, 1)
    assert len(rows) == 3


def test_mapping_errors_are_clear(tmp_path):
    path = tmp_path / "column_mappings.yaml"
    path.write_text("layouts:\n  - name: x\n    columns: {customer: 1}\n")
    with pytest.raises(MappingError, match="unknown canonical columns: customer"):
        load_layouts(path)
    path.write_text("layouts:\n  - name: x\n    delimiter: ';;'\n")
    with pytest.raises(MappingError, match="delimiter must be one character"):
        load_layouts(path)


def test_mapping_to_a_column_the_file_lacks_rejects_the_file(connection, landing, data_dir):
    mappings = data_dir / "column_mappings.yaml"
    mappings.write_text("layouts:\n  - files: '*.csv'\n    columns: {customer_id: Client}\n")
    write_csv(landing / "x.csv", GOOD_ROWS)
    report = ingest(connection, landing, mappings)
    assert report.files[0].status == "rejected"
    assert (
        "maps customer_id to column 'Client', which the file does not have" in report.files[0].error
    )


def test_new_customers_folder_and_partial_files_are_not_ingested(connection, landing):
    (landing / "new_customers").mkdir()
    write_csv(landing / "new_customers" / "c.csv", GOOD_ROWS)
    write_csv(landing / "upload.csv.part", GOOD_ROWS)
    write_csv(landing / ".hidden.csv", GOOD_ROWS)
    assert ingest(connection, landing).files == []


def test_file_database_survives_a_failed_load(tmp_path, landing):
    """A failure mid-file rolls back: nothing from that file is visible afterwards."""
    database = tmp_path / "w.duckdb"
    write_csv(landing / "a.csv", GOOD_ROWS)
    with duckdb.connect(str(database)) as con:
        ingest(con, landing)
    (landing / "b.csv").write_bytes(b"CustomerID,Amount\n1,2\n")
    with duckdb.connect(str(database)) as con:
        ingest(con, landing)
        assert table(con, "SELECT DISTINCT source_file FROM raw.transactions") == [("a.csv",)]


# --- the package's shape and its generated SQL -------------------------------------------


def test_the_ingest_package_imports_no_dagster():
    import ast

    package = Path(__file__).resolve().parents[1] / "pipeline" / "ingest"
    for module in package.glob("*.py"):
        tree = ast.parse(module.read_text(encoding="utf-8"))
        imported = [
            name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for name in (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
            )
        ]
        assert not [n for n in imported if n.split(".")[0] == "dagster"], module.name


def test_the_raw_schema_is_idempotent_and_upgrades_an_older_ledger(connection):
    """The tables come from their contracts; a ledger written before the modified_at and
    encoding columns existed gains them (raw_schema/ steps), its rows kept."""
    from pipeline.ingest import ensure_raw_schema
    from pipeline.ingest.sql_files import sql_steps

    assert all("ALTER TABLE raw.file_ledger" in step for step in sql_steps("raw_schema"))
    connection.execute("CREATE SCHEMA raw")
    connection.execute(
        "CREATE TABLE raw.file_ledger (file_path VARCHAR NOT NULL, content_hash VARCHAR NOT NULL,"
        " size_bytes BIGINT NOT NULL, layout VARCHAR, status VARCHAR NOT NULL,"
        " rows_read BIGINT NOT NULL, rows_loaded BIGINT NOT NULL,"
        " rows_quarantined BIGINT NOT NULL, error VARCHAR, ingested_at TIMESTAMP NOT NULL)"
    )
    connection.execute(
        "INSERT INTO raw.file_ledger VALUES ('old.csv', 'h', 1, 'auto', 'loaded', 1, 1, 0, "
        "NULL, TIMESTAMP '2026-01-01')"
    )
    ensure_raw_schema(connection)
    ensure_raw_schema(connection)
    assert table(
        connection,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw' ORDER BY 1",
    ) == [("file_ledger",), ("quarantine",), ("transactions",)]
    assert table(connection, "SELECT file_path, modified_at, encoding FROM raw.file_ledger") == [
        ("old.csv", None, None)
    ]


def test_repeated_header_sql_quotes_every_source_column():
    from pipeline.ingest.typed_rows import repeated_header_sql

    assert repeated_header_sql({}) == "false"
    assert repeated_header_sql({"customer_id": 'Cust "ID"', "invoice_ts": "it's"}) == (
        'CASE WHEN ci_blank(CAST("Cust ""ID""" AS VARCHAR)) = \'Cust "ID"\' THEN '
        'ci_blank(CAST("Cust ""ID""" AS VARCHAR)) = \'Cust "ID"\' AND '
        "ci_blank(CAST(\"it's\" AS VARCHAR)) = 'it''s' ELSE false END"
    )


def test_row_checks_sql_puts_the_all_typed_test_first_and_binds_the_decimal_mark():
    from pipeline.ingest.typed_rows import ALL_TYPED, ROW_CHECKS, row_checks_sql

    is_valid, errors = row_checks_sql(",")
    whens = [line.strip() for line in is_valid.splitlines() if line.strip().startswith("WHEN")]
    assert whens[0] == f"WHEN {ALL_TYPED} THEN true"
    assert len(whens) == 1 + len(ROW_CHECKS)
    assert "ci_number(line_amount_text, ',')" in is_valid
    assert "{decimal_mark}" not in is_valid + errors
    assert errors.count("CASE WHEN") == 1 + len(ROW_CHECKS)


@pytest.mark.parametrize("timestamp_format", [None, "%m/%d/%Y %H:%M"])
def test_typed_select_types_and_checks_a_staged_part(connection, timestamp_format):
    """The generated SELECT over a staged part: typed values in file order, the errors of
    each row, lineage and the original values (with the timestamp join or one format)."""
    from pipeline.ingest.staging import STAGED_TABLE
    from pipeline.ingest.typed_rows import TIMESTAMP_TEXTS, typed_select

    create_typing_macros(connection)
    connection.execute(
        f"CREATE TEMP TABLE {STAGED_TABLE} AS SELECT * FROM (VALUES "
        "('2', '12/1/2010 8:26', '1,5', 'C1', 3), ('x', '12/2/2010 9:00', '2', 'C2', 4), "
        "('4', '', '2', 'C3', 5)) "
        'AS t("Qty", "When", "Price ""€""", "Cust", "_source_row")'
    )
    connection.execute(
        f"CREATE TEMP TABLE {TIMESTAMP_TEXTS} AS SELECT * FROM (VALUES "
        "('12/1/2010 8:26', TIMESTAMP '2010-12-01 08:26'), "
        "('12/2/2010 9:00', TIMESTAMP '2010-12-02 09:00'), ('', NULL)) "
        "AS t(invoice_ts_text, invoice_ts)"
    )
    resolved = {
        "quantity": "Qty",
        "invoice_ts": "When",
        "unit_price": 'Price "€"',
        "customer_id": "Cust",
    }
    sql = typed_select(resolved, '"_source_row"', ",", timestamp_format)
    assert ("ORDER BY source_row" in sql) == (timestamp_format is None)
    rows = table(
        connection,
        f"SELECT source_row, quantity, unit_price, line_amount, invoice_ts, customer_id, "
        f"is_valid, errors, raw_record FROM ({sql})",
    )
    assert [r[0] for r in rows] == [3, 4, 5]
    assert rows[0][1:8] == (2.0, 1.5, 3.0, dt.datetime(2010, 12, 1, 8, 26), "C1", True, [])
    assert rows[1][6:8] == (False, ["quantity: not a number: x"])
    assert rows[2][6:8] == (False, ["invoice_ts: missing"])
    assert '"Price \\"€\\"":"1,5"' in rows[0][8]


def test_one_discovery_with_explicit_options_for_landing_and_new_customers(tmp_path):
    from pipeline.ingest import discover_files
    from pipeline.ingest.readers import SUPPORTED_SUFFIXES

    for name in (
        "a.csv",
        "sub/b.xlsx",
        "new_customers/c.csv",
        "new_customers/deeper/d.csv",
        "new_customers/notes.json",
        ".hidden.csv",
        "_staging/e.csv",
        "~$lock.xlsx",
        "f.csv.part",
        "README.md",
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    landing = [p.relative_to(tmp_path).as_posix() for p in discover_files(tmp_path)]
    assert landing == ["a.csv", "sub/b.xlsx"]
    new_customers = discover_files(
        tmp_path / "new_customers", recursive=False, skip_folders=(), suffixes=SUPPORTED_SUFFIXES
    )
    assert [p.name for p in new_customers] == ["c.csv"]


@pytest.mark.parametrize(
    "name",
    [
        "Thumbs.db",
        "THUMBS.DB",
        "desktop.ini",
        "Icon\r",
        ".DS_Store",
        "._sales.csv",
        "~$sales.xlsx",
        ".~lock.sales.csv#",
        "sales.csv.crdownload",
        "sales.csv.part",
        "sales.tmp",
        "sales.csv~",
        "x.dropbox",
        ".Spotlight-V100",
        ".Trashes",
        ".sync",
        "$RECYCLE.BIN",
        "@eaDir",
    ],
)
def test_system_and_sync_metadata_is_not_data(tmp_path, name):
    from pipeline.ingest.discovery import discover_files, is_ignored_name

    assert is_ignored_name(name)
    (tmp_path / name).mkdir() if "." not in name.strip(".") else (tmp_path / name).write_text("x")
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "sales.csv").write_text("x")
    assert [p.name for p in discover_files(tmp_path)] == ["sales.csv"]


@pytest.mark.parametrize(
    "name", ["sales.csv", "Thumbs.csv", "desktop.csv", "icons.xlsx", "a~b.csv"]
)
def test_data_files_are_not_mistaken_for_metadata(name):
    from pipeline.ingest.discovery import is_ignored_name

    assert not is_ignored_name(name)


# --- retraction ----------------------------------------------------------------------------


def _accounts(connection) -> tuple[int, int]:
    """(rows read from loaded files, raw rows + quarantined rows): equal when they balance."""
    return table(
        connection,
        "SELECT (SELECT coalesce(sum(rows_read), 0) FROM raw.file_ledger WHERE status = "
        "'loaded'), (SELECT count(*) FROM raw.transactions) + (SELECT count(*) FROM "
        "raw.quarantine)",
    )[0]


def test_a_retracted_file_leaves_the_raw_tables_and_is_not_loaded_again(connection, landing):
    import os

    from pipeline.ingest import retract_files

    write_csv(landing / "good.csv", GOOD_ROWS)
    wrong = write_csv(landing / "wrong.csv", [*GOOD_ROWS[:2], "x,A,B,six,12/1/2010 8:26,1,1,UK"])
    ingest(connection, landing)
    assert table(connection, "SELECT count(*) FROM raw.quarantine") == [(1,)]

    assert retract_files(connection, ["wrong.csv"], dt.datetime(2026, 1, 2, 3, 4, 5)) == 3
    assert table(connection, "SELECT DISTINCT source_file FROM raw.transactions") == [("good.csv",)]
    assert table(connection, "SELECT count(*) FROM raw.quarantine") == [(0,)]
    assert table(
        connection, "SELECT status, error FROM raw.file_ledger WHERE file_path = 'wrong.csv'"
    ) == [("retracted", "retracted at 2026-01-02 03:04:05 UTC")]
    read, held = _accounts(connection)
    assert read == held == 3

    # Still in landing: not loaded again, not even once touched (same bytes).
    assert {f.file_path: f.status for f in ingest(connection, landing).files} == {
        "good.csv": "unchanged",
        "wrong.csv": "retracted",
    }
    stat = wrong.stat()
    os.utime(wrong, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    assert [f.status for f in ingest(connection, landing).files] == ["unchanged", "retracted"]
    assert _accounts(connection) == (3, 3)
    # A corrected version is a new file version: it loads.
    write_csv(wrong, GOOD_ROWS[:1])
    assert [f.status for f in ingest(connection, landing).files] == ["unchanged", "loaded"]
    assert _accounts(connection) == (4, 4)


def test_retracting_a_file_that_is_not_loaded_changes_nothing(connection, landing):
    from pipeline.ingest import RetractionError, retract_files

    write_csv(landing / "good.csv", GOOD_ROWS)
    ingest(connection, landing)
    before = snapshot(connection)
    with pytest.raises(RetractionError, match="^nope.csv: no loaded file of that name"):
        retract_files(connection, ["good.csv", "nope.csv"])
    assert snapshot(connection) == before
    assert table(connection, "SELECT status FROM raw.file_ledger") == [("loaded",)]


def test_retracting_an_archive_removes_every_member_and_only_them(connection, landing):
    import zipfile

    from pipeline.ingest import retract_files

    text = UCI_HEADER + "\n" + "\n".join(GOOD_ROWS) + "\n"
    with zipfile.ZipFile(landing / "export.zip", "w") as archive:
        archive.writestr("a.csv", text)
        archive.writestr("b.csv", text.replace("536365", "536399"))
    write_csv(landing / "export.zip!a.csv.csv", GOOD_ROWS[:1])  # a name that only looks alike
    ingest(connection, landing)
    assert retract_files(connection, ["export.zip"]) == 6
    assert table(connection, "SELECT DISTINCT source_file FROM raw.transactions") == [
        ("export.zip!a.csv.csv",)
    ]


def test_ledger_names_are_relative_to_landing(tmp_path):
    from pipeline.ingest import ledger_name

    landing = tmp_path / "landing"
    (landing / "2011").mkdir(parents=True)
    (landing / "2011" / "x.csv").write_text("x")
    assert ledger_name(str(landing / "2011" / "x.csv"), landing) == "2011/x.csv"
    assert ledger_name("2011/x.csv", landing) == "2011/x.csv"


def test_cli_retract_runs_the_refresh_with_the_retraction(monkeypatch, data_dir):
    from orchestration import cli

    launched = []

    def run_job(job_name, tags, *, verbose=False, run_config=None):
        launched.append((job_name, tags, run_config))
        return SimpleNamespace(success=True)

    monkeypatch.setattr(cli, "run_job", run_job)
    assert cli.main(["retract", str(data_dir / "landing" / "wrong.csv"), "old/b.csv"]) == 0
    assert launched == [
        (
            "refresh",
            {"pipeline/trigger": "retract"},
            {"ops": {"raw_ingest": {"config": {"retract": ["wrong.csv", "old/b.csv"]}}}},
        )
    ]


def test_raw_ingest_takes_a_retract_option(data_dir, tmp_path):
    import dagster as dg

    from assets.raw import raw_ingest
    from resources.warehouse import DuckDBWarehouse

    write_csv(data_dir / "landing" / "good.csv", GOOD_ROWS)
    write_csv(data_dir / "landing" / "wrong.csv", GOOD_ROWS[:1])
    resources = {"warehouse": DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))}
    assert dg.materialize([raw_ingest], resources=resources).success
    config = {"ops": {"raw_ingest": {"config": {"retract": ["wrong.csv"]}}}}
    assert dg.materialize([raw_ingest], resources=resources, run_config=config).success
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as connection:
        assert table(connection, "SELECT DISTINCT source_file FROM raw.transactions") == [
            ("good.csv",)
        ]
    unknown = {"ops": {"raw_ingest": {"config": {"retract": ["nope.csv"]}}}}
    failed = dg.materialize(
        [raw_ingest], resources=resources, run_config=unknown, raise_on_error=False
    )
    assert not failed.success
