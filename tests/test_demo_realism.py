"""The demo looks like the retailer it imitates: its figures against pipeline/demo/targets.yaml,
and the scenarios do what their names say."""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import pipeline.demo as demo_gen
from pipeline.demo.realism import compare, load_targets, measure
from pipeline.demo.scenarios import COHORT_ACQUISITION_DAYS, SCENARIOS

REFERENCE_ROWS, TARGETS = load_targets()


def test_targets_are_well_formed():
    assert REFERENCE_ROWS > 100_000 and len(TARGETS) >= 12
    for target in TARGETS:
        assert target.low <= target.uci <= target.high, target.name
        assert target.description


@pytest.mark.parametrize("seed", [42, 7])
def test_retail_demo_matches_the_target_figures(seed):
    data = demo_gen.generate_transactions(REFERENCE_ROWS, seed=seed)
    comparisons = compare(measure(data.transactions))
    outside = [c.line() for c in comparisons if not c.within]
    assert not outside, "\n".join(outside)


def test_measure_sees_a_retailer_that_is_not_one():
    # Without guests, cancellations and new customers after the first quarter, the same
    # figures fall outside their bounds: the comparison can fail.
    data = demo_gen.generate_transactions(
        60_000,
        seed=3,
        dirt=demo_gen.DirtRates(guest_lines=0, cancelled_orders=0),
        behaviour=demo_gen.Behaviour(acquisition_days=91),
    )
    failed = {c.target.name for c in compare(measure(data.transactions)) if not c.within}
    assert {"guest_row_share", "cancellation_line_share", "new_share_last_90_days"} <= failed


def _monthly_acquisitions(truth) -> dict[str, int]:
    months = pc.strftime(truth.column("acquisition_ts"), format="%Y-%m")
    counts = pc.value_counts(months).to_pylist()
    return {row["values"]: row["counts"] for row in counts}


def test_retail_acquires_customers_every_month_through_the_last_day():
    data = demo_gen.generate_transactions(150_000, seed=5)
    acquired = _monthly_acquisitions(data.truth)
    assert len(acquired) == 25  # 2009-12 .. 2011-12, every month
    last = pc.max(data.truth.column("acquisition_ts")).as_py()
    assert last >= data.observation_end - timedelta(days=7)
    # more newcomers in the busy autumn than in the quiet late winter
    assert acquired["2010-11"] > 1.3 * acquired["2011-02"]


def test_cohort_scenario_acquires_one_quarter_and_has_no_products(tmp_path):
    summary = demo_gen.write_demo_data(
        tmp_path / "landing", tmp_path / "demo", 20_000, seed=3, scenario="cohort"
    )
    truth = pq.read_table(summary.truth_path)
    assert truth.schema.metadata[b"scenario"] == b"cohort"
    first_day = datetime(2009, 12, 1)
    assert pc.max(truth.column("acquisition_ts")).as_py() < first_day + timedelta(
        days=COHORT_ACQUISITION_DAYS
    )
    relation = duckdb.read_csv(str(summary.transactions_path))
    assert relation.columns == list(SCENARIOS["cohort"].columns)
    assert "StockCode" not in relation.columns and "Description" not in relation.columns
    assert abs(relation.shape[0] - 20_000) <= 600
    # the cohort keeps buying after the quarter: the file spans the whole period
    last = relation.select("max(strptime(InvoiceDate, '%m/%d/%Y %H:%M'))").fetchall()[0][0]
    assert last > datetime(2011, 6, 1)


def test_seasonal_scenario_is_strongly_seasonal():
    def november_over_february(scenario: str) -> float:
        data = demo_gen.generate_transactions(40_000, seed=9, scenario=scenario)
        months = pc.month(data.transactions.column("InvoiceDate"))
        november = pc.sum(pc.equal(months, 11)).as_py()
        february = pc.sum(pc.equal(months, 2)).as_py()
        return november / february

    retail, seasonal = november_over_february("retail"), november_over_february("seasonal")
    assert 1.5 < retail < 4
    assert seasonal > 2.5 * retail


def test_every_scenario_writes_its_truth_and_is_deterministic():
    for name in SCENARIOS:
        data = demo_gen.generate_transactions(4_000, seed=2, scenario=name)
        again = demo_gen.generate_transactions(4_000, seed=2, scenario=name)
        assert data.scenario == name
        assert data.transactions.equals(again.transactions)
        assert data.truth.num_rows > 10
        assert tuple(data.truth.schema.names) == demo_gen.TRUTH_COLUMNS
    with pytest.raises(ValueError, match="scenario"):
        demo_gen.generate_transactions(1_000, scenario="wholesale")
