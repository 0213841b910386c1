"""Data-quality suites (pipeline.quality), the DataQuality resource and the gx_check factory.

Every bad-data case runs on both engines: GX on pandas (small table) and the DuckDB
aggregates used above ``pandas_row_limit`` (forced with a limit of 0), so the two agree.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest

from assets.quality import check_name_for, gx_check, previous_row_count
from pipeline import quality
from pipeline.catalog import TABLES
from pipeline.catalog.vocabularies import VOCABULARIES
from pipeline.sql_text import qualified, quote_identifier
from resources.data_quality import DataQuality
from resources.warehouse import DuckDBWarehouse

REPO_ROOT = Path(__file__).resolve().parents[1]
REFERENCE = dt.datetime(2011, 12, 10)
ENGINES = {"gx-pandas": 1_000_000, "duckdb-sql": 0}
# The raw and staging suites, tested here on crafted tables; the later layers' suites are
# tested on the tables of a real refresh in test_quality_layers.py.
CRAFTED = tuple(name for name in quality.suite_names() if name.split(".")[0] in {"raw", "staging"})

# Column types as documented in pipeline.catalog, without the NOT NULL constraints the real
# DDL has, so bad tables can be crafted.
TABLE_DDL = {
    table: ", ".join(f"{quote_identifier(c.name)} {c.type}" for c in TABLES[table].columns)
    for table in quality.suite_names()
}


def transaction(row: int, **changes: Any) -> dict[str, Any]:
    values = {
        "invoice_id": f"5365{row:02d}",
        "stock_code": "85123A",
        "description": "WHITE HANGING HEART T-LIGHT HOLDER",
        "quantity": 6.0,
        "invoice_ts": dt.datetime(2011, 12, 9, 12, 0) - dt.timedelta(hours=row),
        "unit_price": 2.55,
        "customer_id": f"1785{row % 3}",
        "country": "United Kingdom",
        "line_amount": 15.3,
        "source_file": "online_retail.xlsx",
        "source_sheet": "Year 2010-2011",
        "source_row": row + 2,
    }
    values.update(changes)
    return values


def good_rows(table: str, count: int = 6) -> list[dict[str, Any]]:
    if table == "raw.transactions":
        return [transaction(i, ingested_at=REFERENCE) for i in range(count)]
    if table in ("staging.transactions", "staging.returns"):
        return [transaction(i) for i in range(count)]
    if table == "staging.excluded":
        rules = VOCABULARIES["exclusion_rules"]()
        return [transaction(i, customer_id=None, rule=rules[i % len(rules)]) for i in range(count)]
    if table == "raw.quarantine":
        return [
            {
                "source_file": "online_retail.xlsx",
                "source_sheet": "Year 2010-2011",
                "source_row": i + 2,
                "column_name": "invoice_ts",
                "reason": "unparseable date",
                "raw_record": json.dumps({"InvoiceDate": "31/02/2011"}),
                "quarantined_at": REFERENCE,
            }
            for i in range(count)
        ]
    if table == "raw.file_ledger":
        return [
            {
                "file_path": f"landing/file_{i}.csv",
                "content_hash": f"{i:064x}",
                "size_bytes": 1024,
                "layout": "auto",
                "status": ("loaded", "rejected", "superseded")[i % 3],
                "rows_read": 10,
                "rows_loaded": 9,
                "rows_quarantined": 1,
                "error": None,
                "ingested_at": REFERENCE,
            }
            for i in range(count)
        ]
    raise AssertionError(table)


def create_table(
    connection: duckdb.DuckDBPyConnection,
    table: str,
    rows: list[dict[str, Any]],
    ddl: str | None = None,
) -> None:
    schema_name, table_name = quality.split_table_name(table)
    connection.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(schema_name)}")
    connection.execute(f"CREATE OR REPLACE TABLE {qualified(table)} ({ddl or TABLE_DDL[table]})")
    if rows:
        columns = list(rows[0])
        placeholders = ", ".join("?" for _ in columns)
        names = ", ".join(quote_identifier(c) for c in columns)
        connection.executemany(
            f"INSERT INTO {qualified(table)} ({names}) VALUES ({placeholders})",  # noqa: S608
            [[row[c] for c in columns] for row in rows],
        )


def run(
    connection: duckdb.DuckDBPyConnection,
    table: str,
    *,
    engine: str = "gx-pandas",
    results_dir: Path | None = None,
    **options: Any,
) -> quality.ValidationReport:
    options.setdefault("reference_time", REFERENCE)
    report = quality.validate_table(
        connection,
        table,
        quality.suite_for(table),
        results_dir=results_dir,
        pandas_row_limit=ENGINES[engine],
        **options,
    )
    data_outcomes = [o for o in report.outcomes if o.engine not in ("duckdb-catalog",) and o.column]
    assert all(o.engine in (engine, "duckdb-catalog") for o in data_outcomes), report.outcomes
    return report


@pytest.fixture
def connection() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    try:
        yield connection
    finally:
        connection.close()


def only_failure(report: quality.ValidationReport) -> quality.ExpectationOutcome:
    failures = report.failures
    assert len(failures) == 1, report.to_markdown()
    return failures[0]


# ---- good tables pass -----------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("table", CRAFTED)
def test_good_table_passes(connection, table, engine):
    create_table(connection, table, good_rows(table))
    report = run(connection, table, engine=engine, previous_row_count=6)
    assert report.success, report.to_markdown()
    assert report.failed_severity is None
    assert report.row_count == 6


# ---- bad tables fail with the right expectation and count -----------------------------

BadCase = tuple[str, Callable[[list[dict[str, Any]]], None], str, str, int]


def _set(index: int, **changes: Any) -> Callable[[list[dict[str, Any]]], None]:
    def mutate(rows: list[dict[str, Any]]) -> None:
        rows[index].update(changes)

    return mutate


def _duplicate(index: int) -> Callable[[list[dict[str, Any]]], None]:
    def mutate(rows: list[dict[str, Any]]) -> None:
        rows.append(dict(rows[index]))

    return mutate


def _both(*mutations: Callable[[list[dict[str, Any]]], None]) -> Callable[..., None]:
    def mutate(rows: list[dict[str, Any]]) -> None:
        for mutation in mutations:
            mutation(rows)

    return mutate


BAD_CASES: dict[str, BadCase] = {
    "raw_tx_null_amount": (
        "raw.transactions",
        _both(_set(1, line_amount=None), _set(3, line_amount=None)),
        "expect_column_values_to_not_be_null",
        "line_amount",
        2,
    ),
    "raw_tx_duplicate_lineage": (
        "raw.transactions",
        _duplicate(2),
        "expect_compound_columns_to_be_unique",
        "source_file, source_sheet, source_row",
        2,
    ),
    "raw_tx_null_ts": (
        "raw.transactions",
        _set(0, invoice_ts=None),
        "expect_column_values_to_not_be_null",
        "invoice_ts",
        1,
    ),
    "quarantine_null_reason": (
        "raw.quarantine",
        _set(4, reason=None),
        "expect_column_values_to_not_be_null",
        "reason",
        1,
    ),
    "quarantine_bad_json": (
        "raw.quarantine",
        _set(2, raw_record="{InvoiceDate: 31/02"),
        "expect_column_values_to_be_json_parseable",
        "raw_record",
        1,
    ),
    "ledger_unknown_status": (
        "raw.file_ledger",
        _both(_set(0, status="pending"), _set(5, status="pending")),
        "expect_column_values_to_be_in_set",
        "status",
        2,
    ),
    "ledger_negative_count": (
        "raw.file_ledger",
        _set(3, rows_quarantined=-1),
        "expect_column_values_to_be_between",
        "rows_quarantined",
        1,
    ),
    "ledger_null_hash": (
        "raw.file_ledger",
        _set(1, content_hash=None),
        "expect_column_values_to_not_be_null",
        "content_hash",
        1,
    ),
    "staging_null_customer": (
        "staging.transactions",
        _set(2, customer_id=None),
        "expect_column_values_to_not_be_null",
        "customer_id",
        1,
    ),
    "staging_zero_quantity": (
        "staging.transactions",
        _set(1, quantity=0.0),
        "expect_column_values_to_be_between",
        "quantity",
        1,
    ),
    "staging_negative_price": (
        "staging.transactions",
        _both(_set(1, unit_price=-2.5), _set(4, unit_price=0.0)),
        "expect_column_values_to_be_between",
        "unit_price",
        2,
    ),
    "staging_zero_amount": (
        "staging.transactions",
        _set(5, line_amount=0.0),
        "expect_column_values_to_be_between",
        "line_amount",
        1,
    ),
    "staging_duplicate_lineage": (
        "staging.transactions",
        _duplicate(0),
        "expect_compound_columns_to_be_unique",
        "source_file, source_sheet, source_row",
        2,
    ),
    "returns_null_customer": (
        "staging.returns",
        _set(0, customer_id=None),
        "expect_column_values_to_not_be_null",
        "customer_id",
        1,
    ),
    "excluded_unknown_rule": (
        "staging.excluded",
        _set(3, rule="looked_odd"),
        "expect_column_values_to_be_in_set",
        "rule",
        1,
    ),
    "excluded_null_rule": (
        "staging.excluded",
        _set(3, rule=None),
        "expect_column_values_to_not_be_null",
        "rule",
        1,
    ),
}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_table_fails_on_the_right_expectation(connection, case, engine):
    table, mutate, expectation_type, column, unexpected_count = BAD_CASES[case]
    rows = good_rows(table)
    mutate(rows)
    create_table(connection, table, rows)

    report = run(connection, table, engine=engine)

    assert not report.success
    # Blocking tables' checks are critical; the others' are warnings.
    severity = "critical" if TABLES[table].blocking else "warning"
    assert report.failed_severity == severity
    failure = only_failure(report)
    assert (failure.expectation_type, failure.column) == (expectation_type, column)
    assert failure.unexpected_count == unexpected_count
    assert failure.engine == engine
    if expectation_type != "expect_column_values_to_not_be_null":
        assert failure.unexpected_examples, "a failing value is shown"
    assert ("❌" if severity == "critical" else "⚠️") in report.to_markdown()


def test_failing_examples_are_the_failing_values(connection):
    rows = good_rows("staging.transactions")
    rows[1]["unit_price"] = -2.5
    rows[4]["unit_price"] = 0.0
    create_table(connection, "staging.transactions", rows)
    for engine in ENGINES:
        failure = only_failure(run(connection, "staging.transactions", engine=engine))
        assert sorted(failure.unexpected_examples) == [-2.5, 0.0]


def test_wrong_type_and_missing_column_fail_the_schema(connection):
    rows = good_rows("staging.transactions")
    for row in rows:
        del row["customer_id"]
        row["quantity"] = str(row["quantity"])
    ddl = (
        TABLE_DDL["staging.transactions"]
        .replace('"customer_id" VARCHAR, ', "")
        .replace('"quantity" DOUBLE', '"quantity" VARCHAR')
    )
    create_table(connection, "staging.transactions", rows, ddl=ddl)
    # The range rule on a text column would be a GX error, so check the schema alone here.
    suite = [
        rule
        for rule in quality.suite_for("staging.transactions")
        if rule.expectation_type != "expect_column_values_to_be_between"
    ]
    report = quality.validate_table(
        connection, "staging.transactions", suite, results_dir=None, reference_time=REFERENCE
    )
    failed = {(f.expectation_type, f.column): f for f in report.failures}
    assert set(failed) == {
        ("expect_table_columns_to_match_set", None),
        ("expect_column_values_to_be_of_type", "customer_id"),
        ("expect_column_values_to_be_of_type", "quantity"),
        ("expect_column_values_to_not_be_null", "customer_id"),
    }
    assert failed[("expect_table_columns_to_match_set", None)].unexpected_examples == (
        "customer_id",
    )
    assert failed[("expect_column_values_to_be_of_type", "quantity")].observed_value == "VARCHAR"
    assert "column missing" in (
        failed[("expect_column_values_to_not_be_null", "customer_id")].observed_value or ""
    )


# ---- row count and freshness ----------------------------------------------------------


@pytest.mark.parametrize(
    ("previous", "current", "threshold", "passes"),
    [
        (None, 1, 0.5, True),  # first materialization
        (100, 50, 0.5, True),  # exactly half is still allowed
        (100, 49, 0.5, False),  # more than half gone
        (100, 89, 0.1, False),  # a tighter threshold
        (100, 90, 0.1, True),
        (10, 400, 0.5, True),  # growth is fine
    ],
)
def test_row_count_drop(connection, previous, current, threshold, passes):
    rows = [transaction(i) for i in range(current)]
    create_table(connection, "staging.transactions", rows)
    report = run(
        connection,
        "staging.transactions",
        previous_row_count=previous,
        row_drop_threshold=threshold,
    )
    assert report.success is passes, report.to_markdown()
    if not passes:
        failure = only_failure(report)
        assert failure.expectation_type == "expect_table_row_count_to_be_between"
        assert failure.observed_value == str(current)


@pytest.mark.parametrize("engine", ENGINES)
def test_stale_data_only_warns(connection, engine):
    create_table(connection, "staging.transactions", good_rows("staging.transactions"))
    report = run(
        connection,
        "staging.transactions",
        engine=engine,
        reference_time=dt.datetime(2025, 1, 1),
        freshness_days=30,
    )
    failure = only_failure(report)
    assert failure.expectation_type == "expect_column_max_to_be_between"
    assert failure.severity == "warning"
    assert failure.observed_value == "2011-12-09T12:00:00"
    assert report.failed_severity == "warning"
    assert "⚠️" in report.to_markdown()


def test_future_data_warns(connection):
    rows = good_rows("staging.transactions")
    rows[0]["invoice_ts"] = REFERENCE + dt.timedelta(days=3)
    create_table(connection, "staging.transactions", rows)
    failure = only_failure(run(connection, "staging.transactions", future_tolerance_days=1))
    assert failure.expectation_type == "expect_column_max_to_be_between"
    assert failure.severity == "warning"


def test_empty_table_fails_freshness_only(connection):
    create_table(connection, "staging.transactions", [])
    report = run(connection, "staging.transactions")
    failure = only_failure(report)
    assert failure.expectation_type == "expect_column_max_to_be_between"
    assert failure.observed_value == "NULL (no rows)"


# ---- results on disk, errors ----------------------------------------------------------


def test_result_json_and_html_written(connection, tmp_path):
    rows = good_rows("raw.file_ledger")
    rows[0]["status"] = "pending"
    create_table(connection, "raw.file_ledger", rows)

    report = run(connection, "raw.file_ledger", results_dir=tmp_path / "quality")

    assert report.result_path is not None and report.result_path.parent == tmp_path / "quality"
    assert report.result_path.name.startswith("raw.file_ledger-")
    stored = json.loads(report.result_path.read_text(encoding="utf-8"))
    assert stored["success"] is False
    assert stored["suite_name"] == "raw.file_ledger"
    assert stored["meta"]["row_count"] == 6
    assert len(stored["results"]) == len(report.outcomes)
    failed = [r for r in stored["results"] if not r["success"]]
    assert [r["expectation_config"]["type"] for r in failed] == [
        "expect_column_values_to_be_in_set"
    ]
    assert failed[0]["result"]["unexpected_count"] == 1
    assert failed[0]["result"]["partial_unexpected_list"] == ["pending"]
    assert report.html_path is not None and "<html" in report.html_path.read_text().lower()


def test_html_pages_for_failures_only_and_rendered_later_from_the_json(connection, tmp_path):
    create_table(connection, "raw.file_ledger", good_rows("raw.file_ledger"))
    passed = run(connection, "raw.file_ledger", results_dir=tmp_path, html="failures")
    assert passed.success and passed.result_path is not None and passed.html_path is None
    bad = good_rows("raw.file_ledger")
    bad[0]["status"] = "pending"
    create_table(connection, "raw.file_ledger", bad)
    failed = run(connection, "raw.file_ledger", results_dir=tmp_path, html="failures")
    assert not failed.success and failed.html_path is not None
    never = run(connection, "raw.file_ledger", results_dir=tmp_path, html="never")
    assert never.html_path is None
    with pytest.raises(ValueError, match="'sometimes' is not one of always, failures, never"):
        run(connection, "raw.file_ledger", results_dir=tmp_path, html="sometimes")

    # The page of a stored result, on demand: the same page the run would have written.
    page = quality.render_html(passed.result_path)
    assert page == passed.result_path.with_suffix(".html")
    assert "raw.file_ledger" in page.read_text(encoding="utf-8")
    assert len(page.read_text()) > 0.8 * len(failed.html_path.read_text())
    not_a_result = tmp_path / "notes.json"
    not_a_result.write_text('{"hello": 1}', encoding="utf-8")
    with pytest.raises(ValueError, match="notes.json: not a stored validation result"):
        quality.render_html(not_a_result)


def test_results_follow_suite_order(connection):
    create_table(connection, "staging.transactions", good_rows("staging.transactions"))
    suite = quality.suite_for("staging.transactions")
    report = quality.validate_table(
        connection, "staging.transactions", suite, results_dir=None, reference_time=REFERENCE
    )
    assert [o.expectation_type for o in report.outcomes] == [e.expectation_type for e in suite]


def test_reads_through_a_read_only_connection(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as writer:
        create_table(writer, "staging.returns", good_rows("staging.returns"))
    with duckdb.connect(str(path), read_only=True) as reader:
        assert run(reader, "staging.returns").success


def test_gx_errors_are_raised_not_reported(connection):
    import great_expectations as gx

    create_table(connection, "staging.returns", good_rows("staging.returns"))
    nonsense = gx.expectations.ExpectColumnValuesToBeBetween(column="customer_id", min_value=0)
    with pytest.raises(quality.QualityEngineError, match="expect_column_values_to_be_between"):
        quality.validate_table(connection, "staging.returns", [nonsense], results_dir=None)


def test_unsupported_expectation_rejected_up_front(connection):
    import great_expectations as gx

    create_table(connection, "staging.returns", good_rows("staging.returns"))
    mean = gx.expectations.ExpectColumnMeanToBeBetween(column="quantity", min_value=0)
    with pytest.raises(quality.UnsupportedExpectationError):
        quality.validate_table(connection, "staging.returns", [mean], results_dir=None)


def test_missing_table_is_an_error(connection):
    with pytest.raises(quality.TableNotFoundError, match="staging.transactions"):
        run(connection, "staging.transactions")


def test_unknown_suite_name():
    with pytest.raises(KeyError, match="no data-quality suite"):
        quality.suite_for("staging.nope")
    with pytest.raises(ValueError, match="no data-quality suite"):
        gx_check("staging.nope")


def test_odd_identifiers_are_quoted(connection):
    create_table(connection, 'odd schema.ta"ble', [{"a b": 1}], ddl='"a b" INTEGER')
    report = quality.validate_table(
        connection,
        'odd schema.ta"ble',
        [*quality.not_null("a b"), *quality.positive("a b")],
        results_dir=None,
        pandas_row_limit=0,
    )
    assert report.success


def test_loading_checks_does_not_import_gx():
    code = (
        "import sys, assets.quality, resources.data_quality, pipeline.quality;"
        "assert 'great_expectations' not in sys.modules, 'GX imported eagerly'"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True)


# ---- Dagster: the check fails, blocks downstream, and reads the previous row count ----


def _definitions(
    rows: list[dict[str, Any]], ran: list[str]
) -> tuple[list[Any], dg.AssetChecksDefinition]:
    @dg.asset(key=["staging", "transactions"])
    def staging_transactions(warehouse: DuckDBWarehouse) -> dg.MaterializeResult:
        with warehouse.writer() as connection:
            create_table(connection, "staging.transactions", rows)
        return dg.MaterializeResult(metadata={"dagster/row_count": len(rows)})

    @dg.asset(key=["marts", "downstream"], deps=[staging_transactions])
    def downstream() -> None:
        ran.append("downstream")

    check = gx_check("staging.transactions")
    return [staging_transactions, downstream, check], check


def _materialize(
    tmp_path: Path,
    rows: list[dict[str, Any]],
    instance: dg.DagsterInstance,
    ran: list[str],
    freshness_reference: str = "2011-12-10",
) -> dg.ExecuteInProcessResult:
    assets, check = _definitions(rows, ran)
    return dg.materialize(
        [*assets[:2], check],
        resources={
            "warehouse": DuckDBWarehouse(path=str(tmp_path / "warehouse.duckdb")),
            "data_quality": DataQuality(
                results_dir=str(tmp_path / "quality"), freshness_reference=freshness_reference
            ),
        },
        instance=instance,
        raise_on_error=False,
    )


def test_blocking_check_fails_and_stops_downstream(tmp_path):
    rows = good_rows("staging.transactions")
    rows[2]["customer_id"] = None
    ran: list[str] = []
    with dg.DagsterInstance.ephemeral() as instance:
        result = _materialize(tmp_path, rows, instance, ran)

    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.check_name == check_name_for("staging.transactions")
    assert evaluation.passed is False
    assert evaluation.severity == dg.AssetCheckSeverity.ERROR
    markdown = evaluation.metadata["expectations"].value
    assert "column_values_to_not_be_null | customer_id" in markdown
    assert evaluation.metadata["failed_critical"].value == 1
    assert Path(evaluation.metadata["result_json"].value).exists()
    assert ran == [], "the blocking check must stop the downstream asset"
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert dg.AssetKey(["marts", "downstream"]) not in materialized


def test_check_compares_with_the_previous_materialization(tmp_path):
    ran: list[str] = []
    key = dg.AssetKey(["staging", "transactions"])
    with dg.DagsterInstance.ephemeral() as instance:
        first = _materialize(tmp_path, good_rows("staging.transactions", 10), instance, ran)
        assert first.get_asset_check_evaluations()[0].passed
        assert previous_row_count(instance, key) is None
        assert ran == ["downstream"]

        second = _materialize(tmp_path, good_rows("staging.transactions", 4), instance, ran)
        assert previous_row_count(instance, key) == 10

    (evaluation,) = second.get_asset_check_evaluations()
    assert evaluation.passed is False
    assert evaluation.metadata["previous_row_count"].value == 10
    assert "table_row_count_to_be_between" in evaluation.description
    assert ran == ["downstream"], "the second run's downstream asset was blocked"


def test_stale_data_warns_without_blocking(tmp_path):
    ran: list[str] = []
    with dg.DagsterInstance.ephemeral() as instance:
        result = _materialize(
            tmp_path, good_rows("staging.transactions"), instance, ran, freshness_reference=""
        )
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.passed is False
    assert evaluation.severity == dg.AssetCheckSeverity.WARN
    assert evaluation.metadata["failed_warning"].value == 1
    assert evaluation.metadata["failed_critical"].value == 0
    assert ran == ["downstream"], "a warning does not block downstream assets"


def test_resource_resolves_data_dir_at_run_time(tmp_path, monkeypatch):
    resource = DataQuality()
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FUTURE_TOLERANCE_DAYS", "3")
    assert resource.resolved_results_dir == tmp_path / "data" / "quality"
    assert resource.resolved_future_tolerance_days == 3
    assert DataQuality(future_tolerance_days=0).resolved_future_tolerance_days == 0
