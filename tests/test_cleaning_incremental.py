"""Incremental cleaning equals a full rebuild: for each way raw.transactions and the settings
can move between two builds, staging is built incrementally (or falls back to a full
rebuild, saying why) and compared with a full rebuild of the same raw data, table by table
and row by row (EXCEPT ALL both ways)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pipeline.cleaning import build_staging
from pipeline.cleaning_incremental import clean_staging
from pipeline.cleaning_state import RuleSettings, previous_build
from pipeline.ingest import ingest_landing, retract_files
from pipeline.settings import DEFAULT_NON_PRODUCT_CODES
from tests.conftest import write_csv

STAGING = ("staging.transactions", "staging.returns", "staging.excluded")
DAY1 = dt.datetime(2011, 12, 9, 6, 0)
DAY2 = dt.datetime(2011, 12, 10, 6, 0)


def settings(now: dt.datetime, tolerance: int = 1, codes=DEFAULT_NON_PRODUCT_CODES):
    return RuleSettings(codes, now, tolerance)


def uci(invoice: str, stock: str, when: str, quantity: int = 6, price: str = "2.55",
        customer: str = "17850") -> str:  # fmt: skip
    return f"{invoice},{stock},ITEM {stock},{quantity},{when},{price},{customer},United Kingdom"


HISTORY = [
    uci("536365", "85123A", "12/1/2011 08:26"),
    uci("536365", "85123A", "12/1/2011 08:26"),  # duplicate_line
    uci("536366", "22633", "12/2/2011 09:00"),
    uci("C536367", "22633", "12/2/2011 10:00", quantity=-1),  # returns
    uci("536368", "POST", "12/3/2011 11:00", price="18"),  # non_product_code
    uci("536369", "22634", "12/3/2011 12:00", customer=""),  # missing_customer
    uci("536370", "22635", "12/3/2011 12:30", price="0"),  # non_positive_price
    uci("536371", "22636", "12/31/2011 20:00"),  # future_date on every day of these tests
]


def land(landing: Path, name: str, rows: list[str]) -> None:
    write_csv(landing / name, rows)


def ingest(connection, landing: Path, now: dt.datetime) -> None:
    report = ingest_landing(connection, landing, landing.parent / "none.yaml", now=now)
    assert not report.with_status("rejected"), report


def equal_to_full_rebuild(connection, rules: RuleSettings) -> dict[str, int]:
    """Rows of each staging table; asserts that a full rebuild gives the same rows."""
    for table in STAGING:
        name = table.replace(".", "_")
        connection.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS FROM {table}")
    build_staging(
        connection,
        non_product_codes=rules.non_product_codes,
        latest_valid_ts=rules.latest_valid_ts,
        future_tolerance_days=rules.future_tolerance_days,
    )
    rows = {}
    for table in STAGING:
        name = table.replace(".", "_")
        only_incremental = connection.execute(
            f"SELECT count(*) FROM (FROM {name} EXCEPT ALL FROM {table})"
        ).fetchone()[0]
        only_full = connection.execute(
            f"SELECT count(*) FROM (FROM {table} EXCEPT ALL FROM {name})"
        ).fetchone()[0]
        assert (only_incremental, only_full) == (0, 0), table
        rows[table] = connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return rows


def rule_of(connection, invoice: str) -> list[str]:
    return [
        row[0]
        for row in connection.execute(
            """
            SELECT 'transactions' FROM staging.transactions WHERE invoice_id = $i
            UNION ALL SELECT 'returns' FROM staging.returns WHERE invoice_id = $i
            UNION ALL SELECT rule FROM staging.excluded WHERE invoice_id = $i
            ORDER BY 1
            """,
            {"i": invoice},
        ).fetchall()
    ]


@pytest.fixture
def built(connection, landing):
    """History loaded and cleaned (a full build: no state yet) on day 1."""
    land(landing, "sales_b.csv", HISTORY)
    ingest(connection, landing, DAY1)
    outcome = clean_staging(connection, settings(DAY1))
    assert outcome.describe() == "full (a staging table is missing)"
    assert rule_of(connection, "536371") == ["future_date"]
    return connection


def test_a_new_file_is_cleaned_alone_and_appended_after_the_old_rows(built, landing):
    land(
        landing,
        "sales_c.csv",
        [
            uci("536400", "85123A", "12/9/2011 09:00"),
            uci("536400", "85123A", "12/9/2011 09:00"),  # a copy within the new file
            uci("C536401", "22633", "12/9/2011 09:30", quantity=-2),
            uci("536402", "POST", "12/9/2011 09:40", price="5"),
            uci("536403", "22633", "12/2/2011 09:00"),  # a late line, older than the newest
        ],
    )
    ingest(built, landing, DAY2)
    rebuilt_before = previous_build(built).rebuilt_at
    outcome = clean_staging(built, settings(DAY2))
    assert outcome.describe() == "incremental (1 new file, 5 rows)"
    assert outcome.moved_rows == 0
    assert previous_build(built).rebuilt_at == rebuilt_before  # only appended
    assert rule_of(built, "536400") == ["duplicate_line", "transactions"]
    # The old rows first, then the new ones in time order (the late line among them).
    order = built.execute("SELECT invoice_id FROM staging.transactions").fetchall()
    assert [invoice for (invoice,) in order] == ["536365", "536366", "536403", "536400"]
    assert equal_to_full_rebuild(built, settings(DAY2))["staging.transactions"] == 4


def test_a_file_sorting_first_takes_the_first_copy_from_a_kept_line(built, landing):
    # sales_a.csv sorts before sales_b.csv: its copy of 536366 is the first in file order.
    land(landing, "sales_a.csv", [uci("536366", "22633", "12/2/2011 09:00")])
    ingest(built, landing, DAY2)
    kept_before = built.execute(
        "SELECT source_file FROM staging.transactions WHERE invoice_id = '536366'"
    ).fetchall()
    assert kept_before == [("sales_b.csv",)]
    rebuilt_before = previous_build(built).rebuilt_at
    outcome = clean_staging(built, settings(DAY2))
    assert outcome.plan.incremental and outcome.moved_rows == 1
    assert previous_build(built).rebuilt_at > rebuilt_before  # rows moved: checks go whole
    assert built.execute(
        "SELECT source_file FROM staging.transactions WHERE invoice_id = '536366'"
    ).fetchall() == [("sales_a.csv",)]
    assert equal_to_full_rebuild(built, settings(DAY2))


def test_a_future_dated_row_is_let_through_when_the_clock_passes_it(connection, landing):
    # Excluded as future-dated on day 1 (later than 6:00 + 1 day)...
    land(
        landing,
        "sales_b.csv",
        [uci("536500", "22640", "12/10/2011 08:00"), uci("536501", "22641", "12/1/2011 08:00")],
    )
    ingest(connection, landing, DAY1)
    clean_staging(connection, settings(DAY1))
    assert rule_of(connection, "536500") == ["future_date"]
    # ...and a copy of it in a file sorting after, loaded on day 2: the revived row keeps
    # the first copy, the new one is the duplicate.
    land(landing, "sales_c.csv", [uci("536500", "22640", "12/10/2011 08:00")])
    ingest(connection, landing, DAY2)
    outcome = clean_staging(connection, settings(DAY2))
    assert outcome.plan.incremental and outcome.moved_rows == 1
    assert rule_of(connection, "536500") == ["duplicate_line", "transactions"]
    first = connection.execute(
        "SELECT source_file FROM staging.transactions WHERE invoice_id = '536500'"
    ).fetchall()
    assert first == [("sales_b.csv",)]
    assert equal_to_full_rebuild(connection, settings(DAY2))


def test_a_night_without_new_files_changes_nothing(built):
    before = {t: built.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in STAGING}
    outcome = clean_staging(built, settings(DAY1 + dt.timedelta(minutes=5)))
    assert outcome.describe() == "incremental (no new files, 0 rows)"
    assert equal_to_full_rebuild(built, settings(DAY1 + dt.timedelta(minutes=5))) == before


@pytest.mark.parametrize(
    ("later", "reason"),
    [
        (settings(DAY1 - dt.timedelta(hours=1)), "the clock is behind the previous build's"),
        (settings(DAY2, tolerance=2), "FUTURE_TOLERANCE_DAYS changed (1 -> 2)"),
        (settings(DAY2, codes=("POST",)), "NON_PRODUCT_CODES changed"),
    ],
)
def test_moved_clock_or_changed_settings_rebuild_in_full(built, landing, later, reason):
    land(landing, "sales_c.csv", [uci("536600", "22650", "12/5/2011 10:00")])
    ingest(built, landing, DAY2)
    outcome = clean_staging(built, later)
    assert not outcome.plan.incremental
    assert outcome.plan.reason.startswith(reason)
    assert equal_to_full_rebuild(built, later)


def test_a_superseded_or_retracted_file_rebuilds_in_full(built, landing):
    land(landing, "sales_c.csv", [uci("536700", "22660", "12/5/2011 10:00")])
    ingest(built, landing, DAY2)
    assert clean_staging(built, settings(DAY2)).plan.incremental
    # A changed version of sales_b.csv replaces the rows of the old one.
    land(landing, "sales_b.csv", HISTORY[:3])
    ingest(built, landing, DAY2 + dt.timedelta(hours=1))
    outcome = clean_staging(built, settings(DAY2 + dt.timedelta(hours=1)))
    assert outcome.describe() == "full (a loaded file was superseded: sales_b.csv)"
    assert equal_to_full_rebuild(built, settings(DAY2 + dt.timedelta(hours=1)))
    retract_files(built, ["sales_c.csv"])
    outcome = clean_staging(built, settings(DAY2 + dt.timedelta(hours=2)))
    assert outcome.describe() == "full (a loaded file was retracted: sales_c.csv)"
    assert rule_of(built, "536700") == []


def test_missing_or_untrustworthy_state_rebuilds_in_full(built, landing):
    built.execute("DELETE FROM staging.cleaning_state")
    outcome = clean_staging(built, settings(DAY2))
    assert outcome.describe() == "full (no record of the previous build)"
    built.execute("DELETE FROM staging.returns")  # the tables no longer match the state
    outcome = clean_staging(built, settings(DAY2))
    assert outcome.plan.reason.startswith("the staging tables hold")
    built.execute("DELETE FROM raw.transactions WHERE invoice_id = '536366'")  # not by file
    outcome = clean_staging(built, settings(DAY2))
    assert outcome.plan.reason.startswith("raw.transactions does not match its ledger")
    assert equal_to_full_rebuild(built, settings(DAY2))
