"""Write the bad-input corpus in tests/reliability/bad_inputs/ (run once; the files are
committed so the corpus stays stable):

    python tests/reliability/make_bad_inputs.py

Every file is small. EXPECTED.yaml beside them (written by hand, not by this script) says what
ingesting each one must do: load (how many rows), quarantine rows (how many, which column,
why) or reject the file (with an error naming the file and, where it applies, row and
column). Adding a file here means adding its entry there; test_bad_inputs.py checks both
lists agree.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import re
import zipfile
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent / "bad_inputs"
UCI = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice"]
UCI += ["CustomerID", "Country"]
HEADER = ",".join(UCI)
FIXED_TIME = dt.datetime(2024, 1, 1)  # workbook metadata, so regenerated files are stable


def row(invoice, quantity="6", date="12/1/2010 8:26", price="2.55", customer="17850", **kw):
    values = {
        "InvoiceNo": invoice,
        "StockCode": kw.get("stock", "85123A"),
        "Description": kw.get("description", "WHITE HANGING HEART T-LIGHT HOLDER"),
        "Quantity": quantity,
        "InvoiceDate": date,
        "UnitPrice": price,
        "CustomerID": customer,
        "Country": kw.get("country", "United Kingdom"),
    }
    return values


def csv_line(values: dict[str, str], sep: str = ",") -> str:
    def quote(text: str) -> str:
        if any(ch in text for ch in (sep, '"', "\n")):
            return '"' + text.replace('"', '""') + '"'
        return text

    return sep.join(quote(str(v)) for v in values.values())


def write_text(name: str, text: str, encoding: str = "utf-8") -> None:
    (HERE / name).write_bytes(text.encode(encoding))


def write_rows(name: str, rows: list[dict[str, str]], sep: str = ",", header=None) -> None:
    header = header if header is not None else sep.join(UCI)
    write_text(name, "\n".join([header, *(csv_line(r, sep) for r in rows)]) + "\n")


def write_xlsx(name: str, sheets: dict[str, pd.DataFrame]) -> None:
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for sheet, frame in sheets.items():
            frame.to_excel(writer, sheet_name=sheet, index=False)
    _fixed_zip(buffer.getvalue(), HERE / name)


def _fixed_zip(workbook: bytes, path: Path | io.BytesIO) -> None:
    """Re-zip with fixed entry times so that regenerating gives the same bytes."""
    source = zipfile.ZipFile(io.BytesIO(workbook))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps the save time
                content = re.sub(
                    rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"2024-01-01T00:00:00Z", content
                )
            target.writestr(fixed, content)


def gzip_bytes(content: bytes) -> bytes:
    return gzip.compress(content, mtime=0)  # no time stamp: regenerated files are stable


def write_gzip(name: str, content: bytes) -> None:
    (HERE / name).write_bytes(gzip_bytes(content))


def write_zip(name: str, members: dict[str, str | bytes]) -> None:
    with zipfile.ZipFile(HERE / name, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, content in members.items():
            info = zipfile.ZipInfo(member, date_time=FIXED_TIME.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content.encode() if isinstance(content, str) else content)


def write_workbook(name: str, rows: list[list[object]], errors=frozenset()) -> None:
    """One sheet written cell by cell; ``errors``: (row, column) from 1 of error cells."""
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Sales"
    for r, values in enumerate(rows, 1):
        for c, value in enumerate(values, 1):
            if value is not None:
                cell = sheet.cell(row=r, column=c, value=value)
                if (r, c) in errors:
                    cell.data_type = "e"
    buffer = io.BytesIO()
    workbook.save(buffer)
    _fixed_zip(buffer.getvalue(), HERE / name)


TIMES = ["2010-12-01 07:45", "2010-12-01 10:33", "2010-12-02 09:00"]


def sheet_frame(first_invoice: int, n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Invoice": [str(first_invoice + i) for i in range(n)],
            "StockCode": ["85048", "22087", "21232"][:n],
            "Description": ["GLASS BALL", "PAPER BUNTING", "STRAWBERRY MUG"][:n],
            "Quantity": [12, 6, 3][:n],
            "InvoiceDate": pd.to_datetime(TIMES)[:n],
            "Price": [6.95, 2.95, 1.25][:n],
            "Customer ID": [13085.0, 16321.0, 12346.0][:n],  # numbers, as Excel keeps them
            "Country": ["United Kingdom", "Australia", "France"][:n],
        }
    )


def main() -> None:
    HERE.mkdir(exist_ok=True)

    # --- empty and almost empty ------------------------------------------------------------
    write_text("empty.csv", "")
    write_text("blank_lines_only.csv", "\n   \n\t\n\n")
    write_text("header_only.csv", HEADER + "\n")

    # --- delimiters --------------------------------------------------------------------------
    write_rows(
        "semicolon_comma_decimals.csv",
        [
            row("536365", price="2,55"),
            row("536366", price="3,39", description="LANTERN, WHITE METAL"),
            row("536367", price="1.234,50", quantity="1"),
        ],
        sep=";",
    )
    write_rows("tab_delimited.tsv", [row("536365"), row("536366", price="3.39")], sep="\t")
    write_rows("caret_delimited.csv", [row("536365"), row("536366")], sep="^")
    write_text(
        "header_comma_rows_semicolon.csv",
        HEADER + "\n" + "\n".join(csv_line(row(str(536365 + i)), ";") for i in range(3)) + "\n",
    )
    write_text("crlf_line_endings.csv", HEADER + "\r\n" + csv_line(row("536365")) + "\r\n")

    # --- columns -----------------------------------------------------------------------------
    write_text(
        "missing_customer_column.csv",
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,Country\n"
        "536365,85123A,HEART,6,12/1/2010 8:26,2.55,United Kingdom\n",
    )
    write_text(
        "extra_and_reordered_columns.csv",
        "Country,Notes,CustomerID,UnitPrice,Channel,InvoiceDate,Quantity,StockCode,InvoiceNo\n"
        "France,first order,12346,2.50,web,12/1/2010 8:26,4,22633,536370\n"
        "Spain,,12347,1.00,store,12/2/2010 9:00,10,22634,536371\n",
    )
    write_text(
        "amount_only_layout.csv",
        "Customer,Date,Amount\n17850,2010-12-01,15.30\n12346,2010-12-02,7.50\n",
    )
    write_text(
        "no_header.csv",
        csv_line(row("536365")) + "\n" + csv_line(row("536366")) + "\n",
    )
    write_text(
        "reserved_column_name.csv",
        HEADER + ",_source_row\n" + csv_line(row("536365")) + ",99\n",
    )
    write_text(
        "source_row_column.csv",  # a file's own column named like the lineage column
        HEADER
        + ",source_row\n"
        + csv_line(row("536365"))
        + ",99\n"
        + csv_line(row("536366"))
        + ",98\n",
    )
    write_text(
        "record_number_column.csv",  # used to crash the whole ingest with a Binder Error
        HEADER + ",_record_number\n" + csv_line(row("536365")) + ",1\n",
    )
    write_text(
        "sql_injection_column.csv",
        HEADER.replace("Quantity", '"Quantity""; DROP TABLE raw.transactions; --"')
        + "\n"
        + csv_line(row("536365"))
        + "\n",
    )
    write_text(
        "sql_injection_values.csv",
        HEADER
        + ',"x\'); DROP TABLE raw.transactions; --",$now\n'
        + csv_line(row("536365", description="'); DROP TABLE raw.transactions; --"))
        + ",1,2\n"
        + csv_line(row("536366", customer="1; DELETE FROM raw.file_ledger"))
        + ",3,4\n",
    )

    # --- rows the parser cannot split --------------------------------------------------------
    write_text(
        "duplicate_header_rows.csv",
        "\n".join(
            [
                HEADER,
                csv_line(row("536365")),
                HEADER,
                csv_line(row("536366")),
                HEADER,
                csv_line(row("536367")),
            ]
        )
        + "\n",
    )
    write_text(
        "too_many_and_too_few_fields.csv",
        "\n".join(
            [
                HEADER,
                csv_line(row("536365")),
                csv_line(row("536366")) + ",EXTRA,FIELDS",
                "536367,85123A,SHORT LINE,6,12/1/2010 8:26",
                csv_line(row("536368")),
            ]
        )
        + "\n",
    )
    quoted = [
        row(str(536370 + i), description=f"HEART, RED {i}")  # quoted: holds the delimiter
        for i in range(5)
    ]
    lines = [csv_line(r) for r in quoted]
    lines[2] = '536372,85123A,"BROKEN QUOTE,6,12/1/2010 8:26,2.55,17850,United Kingdom'
    write_text("unterminated_quote.csv", HEADER + "\n" + "\n".join(lines) + "\n")

    # --- values ------------------------------------------------------------------------------
    write_rows(
        "mixed_date_formats.csv",
        [
            row("1", date="12/1/2010 8:26"),  # UCI: month first
            row("2", date="2010-12-01 08:26:00"),
            row("3", date="2010-12-01T08:26:00"),
            row("4", date="20101201"),
            row("5", date="01.12.2010 08:26"),
            row("6", date="13/12/2010 08:26"),  # day first: no month 13
            row("7", date="01-Dec-2010 08:26"),
            row("8", date="12/1/10 8:26"),  # two-digit year: 2010, not the year 12
            row("9", date="2010/12/01"),
            row("10", date="31/31/2010 8:26"),  # impossible: quarantined
        ],
    )
    write_rows(
        "non_numeric_quantity.csv",
        [
            row("536365", quantity="6"),
            row("536366", quantity="six"),
            row("536367", quantity="1,000"),
            row("536368", quantity="12 pcs"),
            row("536369", quantity="-2"),
        ],
    )
    write_rows(
        "currency_and_comma_prices.csv",
        [
            row("1", price="£2.55"),
            row("2", price="€1.234,50"),
            row("3", price="$1,234.50"),
            row("4", price="EUR 4.10"),
            row("5", price="2,55"),
            row("6", price="USD -3"),
            row("7", price="CHF 3.00"),  # not a known currency: quarantined
        ],
    )
    write_rows(
        "nan_inf_values.csv",
        [
            row("1", quantity="NaN"),
            row("2", price="inf"),
            row("3", quantity="1e400"),
            row("4"),
        ],
    )
    write_rows(
        "absurd_amounts.csv",
        [
            row("1"),
            row("2", quantity="10000000", price="1000000"),  # 1e13: the product is absurd
            row("3", quantity="5e12"),
            row("4", price="-1e13"),
            row("5", quantity="1e200", price="1e200"),  # the product overflows to inf
            row("6", quantity="1", price="1000000000000"),  # exactly 1e12: an amount
            row("7", quantity="-Infinity"),
        ],
    )
    write_text(
        "absurd_amount_column.csv",
        "Customer,Date,Amount\n17850,2010-12-01,15.30\n12346,2010-12-02,1e15\n"
        "12347,2010-12-03,NaN\n12348,2010-12-04,-Infinity\n12349,2010-12-05,999999999999\n",
    )
    write_rows(
        "missing_value_tokens.csv",
        [
            row(str(i), customer=token)
            for i, token in enumerate(
                ["NULL", "null", "\\N", "N/A", "n/a", "#N/A", "None", "NA", "nan", "  ", "Nancy"]
            )
        ],
    )
    write_rows(
        "whitespace_around_ids.csv",
        [
            row("1", customer="\t17850"),
            row("2", customer="17850\t"),
            row("3", customer="\u00a017850\u00a0"),
            row("4", customer=" 17850 "),
            row("5", customer="17850.0\t", stock="\t85123a "),
        ],
    )
    write_rows(
        "timestamp_offsets.csv",
        [
            row("1", date="2010-12-01T08:26:00+01:00"),
            row("2", date="2010-12-01T02:26:00-05:00"),
            row("3", date="2010-12-01 09:26:00+0200"),
            row("4", date="2010-12-01T07:26:00Z"),
            row("5", date="2010-12-01 12:56:00+05:30"),
            row("6", date="2010-12-01 08:26:00 +01:00"),
            row("7", date="2010-12-01T07:26:00"),  # no offset: taken as UTC
        ],
    )
    write_rows(
        "twelve_hour_times.csv",
        [
            row("1", date="12/1/2010 1:05 PM"),
            row("2", date="12/1/2010 12:05 AM"),
            row("3", date="12/1/2010 01:05:00 pm"),
            row("4", date="12/1/2010 12:30 PM"),
            row("5", date="2010-12-01 01:05:00 PM"),
            row("6", date="12/1/2010 13:05 PM"),  # impossible: quarantined
        ],
    )
    long_text = ("VERY LONG DESCRIPTION " * 500)[:10_000]
    write_rows(
        "long_descriptions.csv",
        [row(str(536365 + i), description=long_text) for i in range(3)],
    )
    write_rows(
        "customer_ids_mixed.csv",
        [
            row("1", customer="17850"),
            row("2", customer="17850.0"),
            row("3", customer="00042"),
            row("4", customer="C-1001"),
            row("5", customer="abc-XYZ"),
            row("6", customer=" 12346 "),
            row("7", customer=""),
        ],
    )
    write_rows(
        "future_dates.csv",
        [
            row("1", date="2999-01-01 10:00"),
            row("2", date="1/1/2100 9:00"),
            row("3", date="12/1/2010 8:26"),
        ],
    )

    # --- encodings ---------------------------------------------------------------------------
    write_text(
        "latin1_text.csv",
        HEADER
        + "\n"
        + csv_line(row("1", description="CAFÉ CRÈME BRÛLÉE", country="Österreich", price="£2.55"))
        + "\n",
        encoding="latin-1",
    )
    write_text(
        "utf8_bom.csv",
        "\ufeff" + HEADER + "\n" + csv_line(row("536365", description="CAFÉ")) + "\n",
    )
    euro = csv_line(
        row("1", description="\u201cCAF\u00c9\u201d \u2013 MUG \u2026", price="\u20ac2.55")
    )
    write_text("cp1252_euro_and_quotes.csv", HEADER + "\n" + euro + "\n", encoding="cp1252")
    write_text(
        "cp1252_without_c1_bytes.csv",  # no byte 0x80-0x9F: ISO-8859-1 reads it the same
        HEADER + "\n" + csv_line(row("1", description="CAF\u00c9 \u00d6L")) + "\n",
        encoding="cp1252",
    )
    unicode_text = (
        "\t".join(UCI) + "\r\n" + csv_line(row("1", description="CAF\u00c9 \u20ac"), "\t") + "\r\n"
    )
    write_text("unicode_text_utf16le_bom.txt", "\ufeff" + unicode_text, encoding="utf-16-le")
    write_text("utf16be_bom.csv", "\ufeff" + HEADER + "\n" + euro + "\n", encoding="utf-16-be")
    write_text("utf16le_no_bom.csv", HEADER + "\n" + euro + "\n", encoding="utf-16-le")
    write_text("utf16be_no_bom.csv", HEADER + "\n" + euro + "\n", encoding="utf-16-be")
    write_text("utf32_bom.csv", HEADER + "\n" + euro + "\n", encoding="utf-32")
    (HERE / "binary_junk.csv").write_bytes(bytes(range(256)) * 4)

    # --- file names --------------------------------------------------------------------------
    write_rows("sales 'Q4' [final] copy.csv", [row("536365"), row("536366")])

    # --- Excel, Parquet and other formats ----------------------------------------------------
    write_xlsx(
        "several_sheets.xlsx",
        {
            "Year 2009-2010": sheet_frame(489434, 2),
            "Empty": pd.DataFrame(),
            "Header only": sheet_frame(0, 0),
            "Year 2010-2011": sheet_frame(539993, 3),
        },
    )
    write_xlsx(
        "notes_sheet.xlsx",
        {
            "Data": sheet_frame(489434, 2),
            "Notes": pd.DataFrame({"Comment": ["exported by hand", "do not edit"]}),
        },
    )
    write_workbook(
        "excel_title_rows_and_offset.xlsx",
        [
            ["Sales report, December 2010"],
            ["exported 2010-12-31 by the shop"],
            [],
            [None, *UCI],
            [None, "536365", "85123A", "HEART", 6, "12/1/2010 8:26", 2.55, 17850, "United Kingdom"],
            [],
            [None, "536366", "71053", "LANTERN", 6, "12/1/2010 8:28", 3.39, 17850, "France"],
        ],
    )
    write_workbook(
        "excel_serial_dates.xlsx",
        [
            UCI,
            ["536365", "85123A", "HEART", 6, 40513.35, 2.55, 17850, "United Kingdom"],  # General
            ["536366", "85123A", "HEART", 6, dt.datetime(2010, 12, 1, 8, 26), 2.55, 17850, "UK"],
            ["536367", "85123A", "HEART", 6, "12/1/2010 8:26", 2.55, 17850, "United Kingdom"],
            ["536368", "85123A", "HEART", 6, 40513, 2.55, 17850, "United Kingdom"],
        ],
    )
    write_workbook(
        "excel_error_cells.xlsx",
        [
            UCI,
            ["536365", "85123A", "HEART", 6, "12/1/2010 8:26", 2.55, 17850, "United Kingdom"],
            ["536366", "85123A", "HEART", "#DIV/0!", "12/1/2010 8:26", 2.55, 17850, "UK"],
            ["536367", "85123A", "HEART", 6, "12/1/2010 8:26", "#VALUE!", 17850, "UK"],
            ["536368", "85123A", "HEART", 6, "12/1/2010 8:26", 2.55, "#N/A", "UK"],
            ["536369", "85123A", "HEART", 6, "#N/A", 2.55, 17850, "UK"],
        ],
        errors={(3, 4), (4, 6), (5, 7), (6, 5)},
    )
    write_workbook(
        "excel_text_like_markers.xlsx",
        [
            UCI,
            ["536365", "85123A", "#NA", 6, "12/1/2010 8:26", 2.55, 17850, "United Kingdom"],
            ["536366", "85123A", "-NaN", 6, "12/1/2010 8:26", 2.55, 17850, "United Kingdom"],
            ["536367", "85123A", "1.#IND", 6, "12/1/2010 8:26", 2.55, "NULL", "United Kingdom"],
            ["536368", "85123A", "NONE LEFT", 6, "12/1/2010 8:26", 2.55, "n/a", "Namibia"],
        ],
    )
    (HERE / "not_a_workbook.xlsx").write_bytes(b"this is not a zip file\n")
    full = io.BytesIO()
    sheet_frame(489434, 3).to_parquet(full, index=False)
    (HERE / "truncated.parquet").write_bytes(full.getvalue()[: len(full.getvalue()) // 2])
    sheet_frame(489434, 0).to_parquet(HERE / "zero_rows.parquet", index=False)
    typed = sheet_frame(489434, 3)
    typed.loc[2, "Customer ID"] = None
    typed.to_parquet(HERE / "typed_columns.parquet", index=False)
    write_text("csv_named.parquet", HEADER + "\n" + csv_line(row("536365")) + "\n")
    write_text("orders.json", '[{"CustomerID": "17850", "Amount": 1.0}]\n')

    # --- compressed exports ------------------------------------------------------------------
    two_rows = HEADER + "\n" + csv_line(row("536365")) + "\n" + csv_line(row("536366")) + "\n"
    write_gzip("orders.csv.gz", two_rows.encode())
    write_gzip("orders_tab.tsv.gz", two_rows.replace(",", "\t").encode())
    write_gzip("orders_cp1252.txt.gz", (HEADER + "\n" + euro + "\n").encode("cp1252"))
    (HERE / "truncated.csv.gz").write_bytes(gzip_bytes(two_rows.encode())[:30])
    write_zip("export_one_member.zip", {"orders_2011.csv": two_rows})
    frame = io.BytesIO()
    with pd.ExcelWriter(frame, engine="openpyxl") as writer:
        sheet_frame(489434, 2).to_excel(writer, sheet_name="Orders", index=False)
    fixed_workbook = io.BytesIO()
    _fixed_zip(frame.getvalue(), fixed_workbook)
    write_zip(
        "export_several_members.zip",
        {
            "orders_2010.csv": two_rows,
            "2011/orders_2011.txt": two_rows.replace(",", ";"),
            "orders_2011.xlsx": fixed_workbook.getvalue(),
            "__MACOSX/._orders_2010.csv": b"\x00\x05\x16\x07Mac OS X",
            ".DS_Store": b"\x00\x00\x00\x01Bud1",
        },
    )
    write_zip("export_only_metadata.zip", {"__MACOSX/._orders.csv": b"\x00\x05", "Thumbs.db": b""})
    write_zip("export_bad_member.zip", {"good.csv": two_rows, "notes.csv": "Comment\nhello\n"})
    (HERE / "not_a_zip.zip").write_bytes(b"PK\x03\x04 this is not really a zip\n")

    # --- files that are not data: OS, sync and editor metadata, partial downloads ---------
    good = HEADER + "\n" + csv_line(row("536365")) + "\n"
    (HERE / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    (HERE / "ehthumbs.db").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(56))
    write_text("desktop.ini", "[.ShellClassInfo]\r\nIconResource=C:\\icon.ico,0\r\n")
    write_text("Desktop.INI", "[ViewState]\r\nMode=\r\n")
    (HERE / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1" + bytes(64))
    (HERE / "._orders.csv").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X" + bytes(32))
    (HERE / "~$orders.xlsx").write_bytes(b"\x08Jane Doe" + bytes(40))
    write_text(".~lock.orders.csv#", ",Jane Doe,laptop,01.12.2010 08:26,file:///home/jane;\n")
    write_text("orders.csv.crdownload", good[:40])
    write_text("orders.csv.part", good[:40])
    write_text("orders.tmp", good)
    write_text("orders.csv.download", good[:40])
    write_text("orders.csv~", good)
    write_text("desktop.dropbox.attr", "{}")


if __name__ == "__main__":
    main()
