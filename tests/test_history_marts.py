"""The migration marts and the history's retention, on a small hand-made history."""

from __future__ import annotations

import datetime as dt
import time

import duckdb
import pytest

from pipeline import quality
from pipeline.history import (
    apply_retention,
    build_customer_movements,
    build_segment_transitions,
    default_comparison,
    retained_dates,
    segment_sizes,
    snapshot_dates,
    transition_matrix,
)
from pipeline.history.migrations import customer_timeline
from pipeline.history.snapshots import ensure_history_table

JAN, FEB, MAR = dt.date(2011, 1, 1), dt.date(2011, 2, 1), dt.date(2011, 3, 1)

# customer -> {date: (value_segment, persona, rfm_segment, churn_risk_band, monetary)}
HISTORY = {
    "A": {JAN: ("High", "Loyal Customers", "Champions", "low", 100.0),
          FEB: ("High", "Loyal Customers", "Champions", "low", 150.0),
          MAR: ("High", "At Risk", "At Risk", "high", 150.0)},
    "B": {JAN: ("Low", "New Customers", "New", "medium", 10.0),
          FEB: ("Mid", "Loyal Customers", "Loyal", "low", 60.0),
          MAR: ("Mid", "Loyal Customers", "Loyal", "low", 80.0)},
    "C": {FEB: ("Low", "New Customers", "New", "medium", 5.0),
          MAR: ("Low", "New Customers", "Promising", "medium", 5.0)},
}  # fmt: skip


@pytest.fixture
def history() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    ensure_history_table(connection)
    for customer, dates in HISTORY.items():
        for day, (value, persona, rfm, band, monetary) in dates.items():
            connection.execute(
                "INSERT INTO history.customer_snapshots BY NAME SELECT $d AS snapshot_date, "
                "$c AS customer_id, $v AS value_segment, $p AS persona, $r AS rfm_segment, "
                "$b AS churn_risk_band, $m AS monetary, $d::TIMESTAMP AS features_as_of",
                {
                    "d": day,
                    "c": customer,
                    "v": value,
                    "p": persona,
                    "r": rfm,
                    "b": band,
                    "m": monetary,
                },
            )
    yield connection
    connection.close()


def _pairs(frame, dimension):
    rows = frame[frame["dimension"] == dimension]
    return {
        (f, t): (n, revenue, between)
        for f, t, n, revenue, between in rows[
            ["from_label", "to_label", "customers", "revenue", "revenue_between"]
        ].itertuples(index=False)
    }


def test_transition_matrix_counts_moves_newcomers_and_spend(history):
    matrix = transition_matrix(history, JAN, MAR)
    assert _pairs(matrix, "persona") == {
        ("Loyal Customers", "At Risk"): (1, 150.0, 50.0),
        ("New Customers", "Loyal Customers"): (1, 80.0, 70.0),
        ("(new)", "New Customers"): (1, 5.0, 5.0),
    }
    value = matrix[matrix["dimension"] == "value_segment"]
    assert set(value["share_of_from"]) == {1.0}
    only_bands = transition_matrix(history, FEB, MAR, dimensions=("churn_risk_band",))
    assert set(only_bands["dimension"]) == {"churn_risk_band"}
    assert _pairs(only_bands, "churn_risk_band")[("low", "high")] == (1, 150.0, 0.0)
    with pytest.raises(ValueError, match="unknown dimension"):
        transition_matrix(history, JAN, MAR, dimensions=("country",))


def test_default_comparison_is_the_newest_against_thirty_days_before(history):
    assert snapshot_dates(history) == [JAN, FEB, MAR]
    assert default_comparison(history) == (JAN, MAR)  # Feb 1 is 28 days before Mar 1
    assert default_comparison(history, days=20) == (FEB, MAR)
    history.execute("DELETE FROM history.customer_snapshots WHERE snapshot_date <> $d", {"d": MAR})
    assert default_comparison(history) is None


def test_segment_transitions_mart(history):
    assert build_segment_transitions(history, (FEB, MAR)) > 0
    rows = history.execute(
        "SELECT DISTINCT from_date, to_date FROM marts.segment_transitions"
    ).fetchall()
    assert rows == [(FEB, MAR)]
    assert build_segment_transitions(history, None) == 0  # nothing to compare: empty, typed
    columns = [row[0] for row in history.execute("DESCRIBE marts.segment_transitions").fetchall()]
    assert columns[:5] == ["dimension", "from_date", "to_date", "from_label", "to_label"]


def test_customer_movements_keep_each_customers_latest_move(history):
    build_customer_movements(history)
    moves = {
        (c, d): (f, t, since, previous)
        for c, d, f, t, since, previous in history.execute(
            "SELECT customer_id, dimension, from_label, to_label, since, previous_snapshot "
            "FROM marts.customer_movements"
        ).fetchall()
    }
    assert moves[("A", "persona")] == ("Loyal Customers", "At Risk", MAR, FEB)
    assert moves[("B", "persona")] == ("New Customers", "Loyal Customers", FEB, JAN)
    assert moves[("B", "churn_risk_band")] == ("medium", "low", FEB, JAN)
    assert moves[("C", "rfm_segment")] == ("New", "Promising", MAR, FEB)
    assert ("C", "persona") not in moves  # never moved
    assert ("A", "value_segment") not in moves


@pytest.mark.parametrize("table", ["marts.segment_transitions", "marts.customer_movements"])
def test_the_migration_marts_suites_pass_and_fail_on_a_duplicate(history, table):
    build_segment_transitions(history, (FEB, MAR))
    build_customer_movements(history)

    def validate():
        return quality.validate_table(history, table, quality.suite_for(table), results_dir=None)

    assert validate().success
    history.execute(f"INSERT INTO {table} SELECT * FROM {table} LIMIT 1")
    report = validate()
    assert not report.success
    assert any("unique" in outcome.expectation_type for outcome in report.failures)


def test_every_dimension_has_a_title_on_the_dashboard():
    from dashboard.history_data import DIMENSION_TITLES
    from pipeline.history import DIMENSIONS

    assert list(DIMENSION_TITLES) == list(DIMENSIONS)


def test_segment_sizes_and_a_customers_timeline(history):
    sizes = segment_sizes(history, "persona")
    loyal = sizes[sizes["label"] == "Loyal Customers"]
    assert [d.date() for d in loyal["snapshot_date"]] == [JAN, FEB, MAR]
    assert list(loyal["customers"]) == [1, 2, 1]
    timeline = customer_timeline(history, "B")
    assert list(timeline["persona"]) == ["New Customers", "Loyal Customers", "Loyal Customers"]


def test_retention_deletes_dates_older_than_the_window_before_the_newest(history):
    assert apply_retention(history, 0) == []
    assert apply_retention(history, 40) == [JAN]  # Jan 1 is 59 days before Mar 1
    assert snapshot_dates(history) == [FEB, MAR]
    assert apply_retention(history, 28) == []  # Feb 1 is exactly 28 days before: kept


def test_a_backfill_skips_the_dates_its_retention_would_delete(history):
    assert retained_dates(history, [FEB, JAN], 0) == [JAN, FEB]  # 0 keeps every date
    # The stored newest date (Mar 1) bounds what is kept...
    assert retained_dates(history, [JAN, FEB], 40) == [FEB]
    # ...and so does the newest date being written.
    april = dt.date(2011, 4, 1)
    assert retained_dates(history, [JAN, FEB, april], 45) == [april]
    assert retained_dates(history, [FEB], 28) == [FEB]  # exactly the window: kept


def test_transition_matrix_between_two_stored_dates_is_fast():
    """100,000 customers per snapshot: more than the 1M-row demo has."""
    connection = duckdb.connect()
    ensure_history_table(connection)
    for day in (JAN, FEB):
        connection.execute(
            """
            INSERT INTO history.customer_snapshots BY NAME
            SELECT $d AS snapshot_date, 'C' || i AS customer_id,
                   ['Low', 'Mid', 'High'][(hash(i || $d::VARCHAR) % 3)::INT + 1] AS value_segment,
                   'At Risk' AS persona, 'Loyal' AS rfm_segment, 'low' AS churn_risk_band,
                   i::DOUBLE AS monetary, $d::TIMESTAMP AS features_as_of
            FROM range(100000) t(i)
            """,
            {"d": day},
        )
    started = time.perf_counter()
    matrix = transition_matrix(connection, JAN, FEB)
    seconds = time.perf_counter() - started
    value = matrix[matrix["dimension"] == "value_segment"]
    assert value["customers"].sum() == 100_000
    assert len(value) == 9
    assert seconds < 1.0
