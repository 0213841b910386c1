"""Upload from the dashboard, the domain part: the preview loads a file with the raw layer's own
code into a throw-away database (and finds what ingest_landing finds), writes nothing, and
the placement puts a file into landing atomically, refusing names and sizes it must."""

from __future__ import annotations

import datetime as dt
import io
import os
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipeline.ingest import discover_files, ingest_landing
from pipeline.ingest.discovery import is_ignored_name
from pipeline.serving import landing_upload
from pipeline.serving.landing_upload import (
    UploadRefused,
    landing_name,
    place_in_landing,
    temporary_name,
)
from pipeline.serving.upload_preview import preview_file, preview_upload
from tests.conftest import UCI_HEADER

NOW = dt.datetime(2011, 12, 10)
GOOD = [
    "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom",
    "536366,22633,HAND WARMER UNION JACK,6,12/1/2010 8:28,1.85,17850,United Kingdom",
    "536367,84879,ASSORTED COLOUR BIRD ORNAMENT,32,12/1/2010 8:34,1.69,13047,United Kingdom",
    "536368,22960,JAM MAKING SET WITH JARS,6,3/5/2011 8:34,4.25,13048,France",
    "536369,21756,BATH BUILDING BLOCK WORD,3,12/9/2011 8:35,5.95,,United Kingdom",
]
BAD = [
    "536370,22728,ALARM CLOCK BAKELIKE PINK,abc,12/1/2010 8:45,3.75,12583,France",
    "536371,22727,ALARM CLOCK BAKELIKE RED,24,not a date,3.75,12583,France",
    "536372,22726,ALARM CLOCK BAKELIKE GREEN,12,,3.75,12583,France",
]


def csv_bytes(rows: list[str], header: str = UCI_HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def no_mappings(tmp_path: Path) -> Path:
    return tmp_path / "column_mappings.yaml"  # absent: the built-in aliases


# -- preview ----------------------------------------------------------------------------------


def test_preview_counts_rows_quarantine_reasons_customers_and_dates(tmp_path):
    preview = preview_upload(csv_bytes(GOOD + BAD), "sales.csv", no_mappings(tmp_path), now=NOW)
    assert preview.status == "loaded" and preview.would_load
    assert (preview.rows_read, preview.rows_loaded, preview.rows_quarantined) == (8, 5, 3)
    assert preview.customers == 3  # 17850, 13047, 13048; the guest row has none
    assert preview.rows_without_customer == 1
    assert preview.first_invoice == dt.datetime(2010, 12, 1, 8, 26)
    assert preview.last_invoice == dt.datetime(2011, 12, 9, 8, 35)
    reasons = preview.reasons.set_index("first_row")
    assert set(reasons["column_name"]) == {"quantity", "invoice_ts"}
    assert "abc" in reasons.loc[7, "reason"]  # the CSV line: header = line 1
    assert "not a date" in reasons.loc[8, "reason"]
    assert reasons.loc[9, "reason"] == "invoice_ts: missing"
    assert preview.reasons["rows"].sum() == 3
    assert "8 rows read, 5 loaded, 3 quarantined; 3 customers from 2010-12-01" in (
        preview.summary()
    )


def test_preview_agrees_with_the_raw_layer_and_writes_nothing(tmp_path):
    """The preview's figures are what ingest_landing loads into a warehouse from the same
    file; the preview itself leaves landing and the data folder as they were."""
    data_dir = tmp_path / "data"
    landing = data_dir / "landing"
    landing.mkdir(parents=True)
    content = csv_bytes(GOOD + BAD)
    before = sorted(p.relative_to(data_dir) for p in data_dir.rglob("*"))
    preview = preview_upload(content, "sales.csv", no_mappings(tmp_path), landing, now=NOW)
    assert sorted(p.relative_to(data_dir) for p in data_dir.rglob("*")) == before

    (landing / "sales.csv").write_bytes(content)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as warehouse:
        report = ingest_landing(warehouse, landing, no_mappings(tmp_path), now=NOW)
        (outcome,) = report.files
        reasons = warehouse.execute(
            "SELECT column_name, reason, count(*), min(source_row) FROM raw.quarantine "
            "GROUP BY ALL ORDER BY 3 DESC, 4"
        ).fetchall()
        (customers,) = warehouse.execute(
            "SELECT count(DISTINCT customer_id) FROM raw.transactions"
        ).fetchone()
    assert (outcome.rows_read, outcome.rows_loaded, outcome.rows_quarantined) == (
        preview.rows_read,
        preview.rows_loaded,
        preview.rows_quarantined,
    )
    assert reasons == [tuple(row) for row in preview.reasons.itertuples(index=False)]
    assert customers == preview.customers


@pytest.mark.parametrize("kind", ["xlsx", "parquet"])
def test_excel_and_parquet_are_read_by_the_pipelines_readers(tmp_path, kind):
    frame = pd.read_csv(io.BytesIO(csv_bytes(GOOD)), dtype=str)
    buffer = io.BytesIO()
    if kind == "xlsx":
        frame.to_excel(buffer, index=False)
    else:
        frame.to_parquet(buffer, index=False)
    preview = preview_upload(buffer.getvalue(), f"sales.{kind}", no_mappings(tmp_path), now=NOW)
    assert preview.status == "loaded", preview.error
    assert (preview.rows_loaded, preview.customers) == (5, 3)


def test_a_file_the_raw_layer_rejects_is_shown_as_rejected(tmp_path):
    preview = preview_upload(b"name,amount\nx,1\n", "people.csv", no_mappings(tmp_path), now=NOW)
    assert preview.status == "rejected" and not preview.would_load
    assert "missing required column(s)" in preview.error
    assert "people.csv" in preview.summary()


def test_a_user_layout_applies_by_the_landing_name(tmp_path):
    mappings = tmp_path / "column_mappings.yaml"
    mappings.write_text(
        "layouts:\n"
        "  - name: shop\n"
        "    files: 'shop_*.csv'\n"
        "    columns: {customer_id: Kunde, invoice_ts: Datum, line_amount: Betrag}\n"
    )
    content = b"Kunde,Datum,Betrag\nK1,2011-03-01,10.5\nK2,2011-03-02,4\n"
    assert preview_upload(content, "shop_march.csv", mappings, now=NOW).customers == 2
    assert preview_upload(content, "other.csv", mappings, now=NOW).status == "rejected"


def test_the_preview_says_when_a_landing_file_is_replaced(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "sales.csv").write_bytes(csv_bytes(GOOD))
    same = preview_upload(csv_bytes(GOOD), "sales.csv", no_mappings(tmp_path), landing, NOW)
    assert same.replaces_existing and same.same_as_existing
    other = preview_upload(csv_bytes(GOOD[:2]), "sales.csv", no_mappings(tmp_path), landing, NOW)
    assert other.replaces_existing and not other.same_as_existing
    new = preview_upload(csv_bytes(GOOD), "march.csv", no_mappings(tmp_path), landing, NOW)
    assert not new.replaces_existing


def test_preview_file_reads_a_file_on_disk_under_its_own_name(tmp_path):
    path = tmp_path / "sales.csv"
    path.write_bytes(csv_bytes(GOOD))
    assert preview_file(path, no_mappings(tmp_path), now=NOW).rows_loaded == 5
    with pytest.raises(UploadRefused):
        preview_file(tmp_path / "_draft.csv", no_mappings(tmp_path))


# -- names and placement ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "",
        "../sales.csv",
        "sub/sales.csv",
        "..\\sales.csv",
        "/etc/passwd.csv",
        "..",
        ".hidden.csv",
        "_draft.csv",
        "~$sales.xlsx",
        "sales.csv.tmp",
        "sales.csv.part",
        "notes.md",
        "sales.exe",
        "sales",
        "x" * 300 + ".csv",
    ],
)
def test_names_that_would_escape_landing_or_be_skipped_are_refused(name):
    with pytest.raises(UploadRefused):
        landing_name(name)


@pytest.mark.parametrize("name", ["sales.csv", "Sales 2011 (Q4).XLSX", "orders.parquet", "a.tsv"])
def test_plain_file_names_are_kept(name):
    assert landing_name(name) == name


def test_the_temporary_name_is_skipped_by_landing_discovery():
    name = temporary_name("sales.csv")
    assert is_ignored_name(name)
    assert name != temporary_name("sales.csv")


def test_placing_renames_a_whole_file_into_landing(tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "sales.csv").write_bytes(b"old")
    content = csv_bytes(GOOD)
    seen = {}
    real_replace = os.replace

    def watching_replace(source, target):
        # Just before the rename: the whole content is on disk under a name discovery
        # skips, and the sensor's view of landing is the old file only.
        seen["source"] = Path(source).read_bytes()
        seen["discovered"] = [p.name for p in discover_files(landing)]
        real_replace(source, target)

    monkeypatch.setattr(landing_upload.os, "replace", watching_replace)
    target = place_in_landing(content, landing, "sales.csv", max_bytes=10_000)
    assert target == (landing / "sales.csv").resolve()
    assert target.read_bytes() == content
    assert seen == {"source": content, "discovered": ["sales.csv"]}
    assert [p.name for p in landing.iterdir()] == ["sales.csv"]  # no temporary file left


def test_a_failed_placement_leaves_landing_as_it_was(tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "sales.csv").write_bytes(b"old")

    def broken_replace(source, target):
        raise OSError("disk full")

    monkeypatch.setattr(landing_upload.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        place_in_landing(csv_bytes(GOOD), landing, "sales.csv", max_bytes=10_000)
    assert [p.name for p in landing.iterdir()] == ["sales.csv"]
    assert (landing / "sales.csv").read_bytes() == b"old"


def test_oversize_and_empty_files_are_refused_with_the_limit(tmp_path):
    landing = tmp_path / "landing"
    with pytest.raises(UploadRefused, match=r"over the upload limit of 0\.0 MB \(UPLOAD_MAX_MB\)"):
        place_in_landing(b"x" * 1000, landing, "big.csv", max_bytes=999)
    with pytest.raises(UploadRefused, match="empty"):
        place_in_landing(b"", landing, "empty.csv", max_bytes=999)
    assert not landing.exists() or not any(landing.iterdir())


def test_a_link_at_the_name_is_not_followed_out_of_landing(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    outside = tmp_path / "outside.csv"
    outside.write_bytes(b"keep me")
    (landing / "sales.csv").symlink_to(outside)
    with pytest.raises(UploadRefused, match="link"):
        place_in_landing(csv_bytes(GOOD), landing, "sales.csv", max_bytes=10_000)
    assert outside.read_bytes() == b"keep me"


def test_the_upload_limit_is_a_setting(monkeypatch, tmp_path):
    from pipeline.settings import Settings

    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.delenv("UPLOAD_MAX_MB", raising=False)
    monkeypatch.delenv("DAGSTER_UI_URL", raising=False)
    settings = Settings.from_env()
    assert (settings.upload_max_mb, settings.dagster_url) == (200, "http://127.0.0.1:3000")
    monkeypatch.setenv("UPLOAD_MAX_MB", "5")
    monkeypatch.setenv("DAGSTER_UI_URL", "http://127.0.0.1:3999")
    settings = Settings.from_env()
    assert (settings.upload_max_mb, settings.dagster_url) == (5, "http://127.0.0.1:3999")
