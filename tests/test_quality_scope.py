"""Checks scoped to the rows new since the last passing evaluation (pipeline.quality.scope):
a scoped validation gives the whole table's verdicts where both must pass or fail, reads
only the new rows (and the rows that repeat their keys), keeps `mostly` below 1 and the
uniqueness of other columns on the whole table, and falls back to the whole table when the
previous marks do not fit the warehouse; in Dagster, the marks travel in the check's
metadata from one evaluation to the next."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest
from great_expectations import expectations as gxe

from pipeline import quality
from pipeline.cleaning_incremental import clean_staging
from pipeline.cleaning_state import ENGINE_SPARK, record_state
from pipeline.ingest import retract_files
from pipeline.quality.scope import on_scoped_rows
from tests.test_cleaning_incremental import DAY1, DAY2, HISTORY, ingest, land, settings, uci

RAW = "raw.transactions"
STAGING = ("staging.transactions", "staging.returns", "staging.excluded")
DAY3 = DAY2 + dt.timedelta(days=1)
NEW_DAY = [
    uci("536400", "22700", "12/8/2011 09:00"),
    uci("536401", "22701", "12/8/2011 10:00"),
    uci("C536402", "22700", "12/8/2011 11:00", quantity=-2),
    uci("536403", "POST", "12/8/2011 12:00", price="18"),  # excluded: non_product_code
]


def validate(connection, table, scope=None, suite=None, when=DAY2):
    return quality.validate_table(
        connection,
        table,
        suite if suite is not None else quality.suite_for(table),
        results_dir=None,
        reference_time=when,
        scope=scope,
    )


def verdicts(report) -> list[tuple[str, str | None, bool]]:
    return [(o.expectation_type, o.column, o.success) for o in report.outcomes]


@pytest.fixture
def evaluated(connection, landing):
    """Day 1 loaded, cleaned and validated whole (its marks kept); day 2's file loaded and
    cleaned on top. Returns the marks of day 1's evaluations per table."""
    land(landing, "day1.csv", HISTORY)
    ingest(connection, landing, DAY1)
    clean_staging(connection, settings(DAY1))
    marks = {}
    for table in (RAW, *STAGING):
        scope = quality.scope_for(connection, table, None)
        assert scope.whole_table and scope.description == "no previous evaluation"
        assert validate(connection, table, scope, when=DAY1).row_level_success
        marks[table] = scope.marks
    land(landing, "day2.csv", NEW_DAY)
    ingest(connection, landing, DAY2)
    assert clean_staging(connection, settings(DAY2)).plan.incremental
    return connection, marks


def test_scoped_validation_reads_the_new_rows_and_agrees_with_the_whole_table(evaluated):
    connection, marks = evaluated
    new_rows = {RAW: 4, "staging.transactions": 2, "staging.returns": 1, "staging.excluded": 1}
    for table in (RAW, *STAGING):
        scope = quality.scope_for(connection, table, marks[table])
        assert not scope.whole_table, scope.description
        scoped, whole = validate(connection, table, scope), validate(connection, table)
        assert scoped.validated_rows == new_rows[table] < whole.row_count, table
        assert scoped.row_count == whole.row_count
        assert verdicts(scoped) == verdicts(whole), table
        assert scoped.scope.startswith("rows ") and f"of {whole.row_count:,}" in scoped.scope


def test_a_bad_row_in_the_new_file_is_caught(evaluated):
    connection, marks = evaluated
    connection.execute(  # two rows of day 2 under one key (its NOT NULLs are DDL)
        "UPDATE raw.transactions SET source_row = source_row - 1"
        " WHERE source_file LIKE '%day2.csv' AND source_row = 3"
    )
    connection.execute("UPDATE staging.transactions SET quantity = 0 WHERE invoice_id = '536400'")
    connection.execute(  # a warn-only table: its failure warns
        "UPDATE staging.excluded SET rule = 'no_such_rule' WHERE invoice_id = '536403'"
    )
    severities = {
        RAW: "critical",
        "staging.transactions": "critical",
        "staging.excluded": "warning",
    }
    for table, severity in severities.items():
        scoped = validate(connection, table, quality.scope_for(connection, table, marks[table]))
        whole = validate(connection, table)
        assert not scoped.row_level_success and scoped.failed_severity == severity, table
        assert verdicts(scoped) == verdicts(whole), table


def test_a_bad_row_already_validated_is_not_read_again(evaluated):
    connection, marks = evaluated
    connection.execute(  # two rows of day 1 under one key, changed in place
        "UPDATE raw.transactions SET source_row = source_row - 1"
        " WHERE source_file LIKE '%day1.csv' AND source_row = 3"
    )
    connection.execute(
        "UPDATE staging.returns SET customer_id = NULL WHERE source_file LIKE '%day1.csv'"
    )
    for table, new_rows in ((RAW, len(NEW_DAY)), ("staging.returns", 1)):
        scoped = validate(connection, table, quality.scope_for(connection, table, marks[table]))
        assert scoped.row_level_success and scoped.validated_rows == new_rows, table
        assert not validate(connection, table).row_level_success, table


def test_a_new_row_repeating_an_old_key_brings_the_old_row_into_scope(evaluated):
    connection, marks = evaluated
    connection.execute(
        "INSERT INTO raw.transactions SELECT * REPLACE ($now AS ingested_at)"
        " FROM raw.transactions WHERE source_file LIKE '%day1.csv' AND source_row = 2",
        {"now": DAY2},
    )
    scoped = validate(connection, RAW, quality.scope_for(connection, RAW, marks[RAW]))
    assert scoped.validated_rows == len(NEW_DAY) + 2  # day 2's rows, the copy, its original
    (unique,) = [o for o in scoped.outcomes if o.expectation_type.endswith("_unique")]
    assert not unique.success and unique.unexpected_count == 2
    assert verdicts(scoped) == verdicts(validate(connection, RAW))


def test_mostly_and_uniqueness_of_other_columns_stay_on_the_whole_table(evaluated):
    connection, marks = evaluated
    # day 1: every customer missing; day 2: none. 4 of 12 present: below 50 %.
    connection.execute(
        "UPDATE raw.transactions SET customer_id = NULL WHERE source_file LIKE '%day1.csv'"
    )
    connection.execute(  # an invoice of day 1 repeated on day 2
        "UPDATE raw.transactions SET invoice_id = '536366' WHERE invoice_id = '536400'"
    )
    suite = [
        gxe.ExpectColumnValuesToNotBeNull(column="customer_id", mostly=0.5),
        gxe.ExpectColumnValuesToBeUnique(column="invoice_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="line_amount"),
    ]
    assert [on_scoped_rows(rule) for rule in suite] == [False, False, True]
    scope = quality.scope_for(connection, RAW, marks[RAW])
    scoped, whole = validate(connection, RAW, scope, suite), validate(connection, RAW, None, suite)
    assert [o.success for o in scoped.outcomes] == [False, False, True]
    assert verdicts(scoped) == verdicts(whole)
    assert scoped.outcomes[0].observed_value == whole.outcomes[0].observed_value
    assert "of 12 rows" in scoped.outcomes[0].observed_value


def test_which_expectations_read_the_scoped_rows():
    assert on_scoped_rows(gxe.ExpectCompoundColumnsToBeUnique(column_list=list(
        ("source_row", "source_file", "source_sheet"))))  # fmt: skip
    assert not on_scoped_rows(gxe.ExpectCompoundColumnsToBeUnique(column_list=["a", "b"]))
    assert on_scoped_rows(gxe.ExpectColumnValuesToBeInSet(column="rule", value_set=["x"]))
    assert on_scoped_rows(gxe.ExpectColumnValuesToNotBeNull(column="a", mostly=1.0))
    freshness, *_ = quality.freshness("invoice_ts")
    assert not on_scoped_rows(freshness)  # a max, against run-time parameters
    assert not on_scoped_rows(
        gxe.ExpectColumnValuesToBeBetween(column="a", max_value={"$PARAMETER": "x"})
    )


def test_raw_is_whole_when_rows_validated_before_left(evaluated):
    connection, marks = evaluated
    retract_files(connection, ["day1.csv"])
    scope = quality.scope_for(connection, RAW, marks[RAW])
    assert scope.whole_table and "superseded or retracted" in scope.description


@pytest.mark.parametrize("change", ["settings", "revived", "spark", "no state"])
def test_staging_is_whole_after_a_rebuild_moved_rows_spark_or_no_state(connection, landing, change):
    land(landing, "day1.csv", HISTORY)
    ingest(connection, landing, DAY1)
    clean_staging(connection, settings(DAY1))
    marks = {t: quality.scope_for(connection, t, None).marks for t in STAGING}
    land(landing, "day2.csv", NEW_DAY)
    ingest(connection, landing, DAY2)
    if change == "settings":  # a changed tolerance: a full rebuild
        assert not clean_staging(connection, settings(DAY2, tolerance=2)).plan.incremental
    elif change == "revived":  # the clock passes HISTORY's future-dated row: it moves
        assert clean_staging(connection, settings(dt.datetime(2012, 1, 5))).moved_rows == 1
    else:
        clean_staging(connection, settings(DAY2))
        if change == "spark":
            record_state(connection, settings(DAY2), engine=ENGINE_SPARK)
        else:
            connection.execute("DELETE FROM staging.cleaning_state")
    for table in STAGING:
        scope = quality.scope_for(connection, table, marks[table])
        assert scope.whole_table, (table, scope.description)
        report = validate(connection, table, scope)
        assert report.validated_rows == report.row_count
        assert report.scope.startswith("whole table")


def test_empty_scope_passes_on_both_engines(evaluated):
    connection, _ = evaluated
    marks = quality.scope_for(connection, RAW, None).marks  # as of now: nothing newer
    scope = quality.scope_for(connection, RAW, marks)
    for limit in (0, 1_000):
        report = quality.validate_table(
            connection, RAW, quality.suite_for(RAW), results_dir=None,
            reference_time=DAY2, scope=scope, pandas_row_limit=limit,
        )  # fmt: skip
        assert report.validated_rows == 0 and report.row_level_success


# ---- Dagster: the marks travel from one evaluation to the next in the check's metadata ----


def _refresh(instance: dg.DagsterInstance) -> dict[str, dg.AssetCheckEvaluation]:
    from assets.raw import raw_ingest
    from assets.staging import staging_clean
    from orchestration.definitions import defs

    result = defs.resolve_job_def("refresh").execute_in_process(
        instance=instance,
        raise_on_error=False,
        asset_selection=[*raw_ingest.keys, *staging_clean.keys],
    )
    return {
        e.asset_key.to_user_string().replace("/", "."): e
        for e in result.get_asset_check_evaluations()
        if e.check_name.startswith("gx_")
    }


def test_second_evaluation_validates_only_the_new_rows(landing, monkeypatch):
    monkeypatch.setenv("FRESHNESS_REFERENCE_DATE", "2011-12-10")
    land(landing, "day1.csv", HISTORY)
    with dg.DagsterInstance.ephemeral() as instance:
        first = _refresh(instance)
        land(landing, "day2.csv", NEW_DAY)
        second = _refresh(instance)
        third = _refresh(instance)  # nothing new

    for table in (RAW, "staging.transactions", "staging.returns"):
        assert first[table].metadata["scope"].value.startswith("whole table"), table
        assert first[table].metadata["row_level_passed"].value is True
        scope = second[table].metadata["scope"].value
        assert scope.startswith("rows "), (table, scope)
        assert second[table].metadata["validated_rows"].value < (
            second[table].metadata["row_count"].value
        )
        assert third[table].metadata["validated_rows"].value == 0, table
    assert second[RAW].metadata["validated_rows"].value == len(NEW_DAY)
    # Freshness warns (HISTORY has a row dated after the reference): not a row-level verdict.
    assert second[RAW].metadata["row_level_passed"].value is True
    assert second[RAW].metadata["failed_critical"].value == 0


def test_after_a_failed_evaluation_the_next_is_whole_table(data_dir, landing, monkeypatch):
    import duckdb

    monkeypatch.setenv("FRESHNESS_REFERENCE_DATE", "2011-12-10")
    land(landing, "day1.csv", HISTORY)
    with dg.DagsterInstance.ephemeral() as instance:
        _refresh(instance)
        with duckdb.connect(str(data_dir / "warehouse.duckdb")) as warehouse:
            warehouse.execute(  # a row loaded again (its key twice), not through the ledger
                "INSERT INTO raw.transactions SELECT * REPLACE"
                " ((SELECT max(ingested_at) FROM raw.transactions) + INTERVAL 1 SECOND"
                "  AS ingested_at) FROM raw.transactions WHERE source_row = 2"
            )
        failed = _refresh(instance)[RAW]
        with duckdb.connect(str(data_dir / "warehouse.duckdb")) as warehouse:
            warehouse.execute(
                "DELETE FROM raw.transactions WHERE ingested_at = (SELECT max(ingested_at)"
                " FROM raw.transactions)"
            )
        after = _refresh(instance)[RAW]
        again = _refresh(instance)[RAW]

    assert failed.metadata["scope"].value.startswith("rows ingested since")
    assert not failed.passed and failed.metadata["row_level_passed"].value is False
    scope = after.metadata["scope"].value
    assert scope.startswith("whole table") and "failed or warned" in scope
    assert after.metadata["row_level_passed"].value is True
    assert after.metadata["validated_rows"].value == len(HISTORY)
    assert again.metadata["scope"].value.startswith("rows ingested since")
