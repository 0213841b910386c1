"""Atomic segment exports."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import duckdb
import pytest

from pipeline.exports import export_queries
from pipeline.marts import export_queries_by_action


@pytest.fixture
def connection():
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE segments AS SELECT range AS customer_id, 'High' AS value FROM range(5)"
    )
    yield con
    con.close()


def test_exports_csv_and_parquet_with_a_latest_link(connection, tmp_path):
    files = export_queries(
        connection,
        tmp_path / "exports",
        {"high_value": "SELECT * FROM segments WHERE customer_id < 3"},
        dt.date(2026, 1, 2),
    )
    assert [(f.name, f.rows) for f in files] == [("high_value", 3)]
    latest = tmp_path / "exports" / "latest"
    assert latest.is_symlink() and latest.resolve() == (tmp_path / "exports" / "2026-01-02")
    assert (latest / "high_value.csv").read_text().splitlines()[0] == "customer_id,value"
    assert duckdb.sql(f"SELECT count(*) FROM '{latest / 'high_value.parquet'}'").fetchall() == [
        (3,)
    ]


def test_a_second_export_replaces_the_day_and_moves_latest(connection, tmp_path):
    exports = tmp_path / "exports"
    export_queries(connection, exports, {"all": "SELECT * FROM segments"}, dt.date(2026, 1, 2))
    export_queries(
        connection, exports, {"all": "SELECT * FROM segments LIMIT 1"}, dt.date(2026, 1, 2)
    )
    export_queries(
        connection, exports, {"all": "SELECT * FROM segments LIMIT 2"}, dt.date(2026, 1, 3)
    )
    assert sorted(p.name for p in exports.iterdir()) == ["2026-01-02", "2026-01-03", "latest"]
    assert len((exports / "2026-01-02" / "all.csv").read_text().splitlines()) == 2
    assert (exports / "latest").resolve().name == "2026-01-03"


def test_a_failed_export_leaves_the_previous_one(connection, tmp_path):
    exports = tmp_path / "exports"
    export_queries(connection, exports, {"all": "SELECT * FROM segments"}, dt.date(2026, 1, 2))
    with pytest.raises(duckdb.Error):
        export_queries(
            connection,
            exports,
            {"fine": "SELECT 1", "broken": "SELECT * FROM no_such_table"},
            dt.date(2026, 1, 3),
        )
    assert sorted(p.name for p in exports.iterdir()) == ["2026-01-02", "latest"]
    assert (exports / "latest").resolve().name == "2026-01-02"


def test_leftovers_of_a_killed_export_are_removed_by_the_next(connection, tmp_path):
    exports = tmp_path / "exports"
    exports.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    abandoned = exports / f".building-{dead.pid}-0badf00d"
    abandoned.mkdir()
    (abandoned / "half.csv").write_text("customer_id\n1\n")
    os.symlink("2026-01-01", exports / f".latest-{dead.pid}-0badf00d")
    in_use = exports / f".building-{os.getpid()}-feedf00d"  # a live export's folder
    in_use.mkdir()
    export_queries(connection, exports, {"all": "SELECT * FROM segments"}, dt.date(2026, 1, 2))
    assert sorted(p.name for p in exports.iterdir()) == [in_use.name, "2026-01-02", "latest"]


def test_two_actions_with_one_export_name_fail_instead_of_overwriting(tmp_path):
    connection = duckdb.connect()
    connection.execute("CREATE SCHEMA marts")
    columns = (
        "customer_id, country, value_segment, purchase_style, persona, rfm_segment, "
        "churn_risk_pct, purchase_probability, expected_spend, top_category, action_channel"
    )
    select = ", ".join(f"NULL AS {c}" for c in columns.split(", "))
    connection.execute(
        f"CREATE TABLE marts.customer_segments AS SELECT {select}, a AS action "
        "FROM (VALUES ('Win-back offer'), ('Win back offer!')) v(a)"
    )
    with pytest.raises(ValueError, match="would overwrite the export win_back_offer.csv"):
        export_queries_by_action(connection)
