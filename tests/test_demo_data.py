"""Tests of the demo data generator (pipeline/demo_gen.py): small n, real properties."""

from __future__ import annotations

import ast
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import pipeline.demo as demo_gen

N_ROWS = 20_000
NON_PRODUCT = [code for code, _, _ in demo_gen.NON_PRODUCT_LINES]


@pytest.fixture(scope="module")
def demo() -> demo_gen.DemoData:
    return demo_gen.generate_transactions(N_ROWS, seed=42)


@pytest.fixture(scope="module")
def con(demo: demo_gen.DemoData) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.register("tx", demo.transactions)
    connection.register("truth", demo.truth)
    connection.register("catalogue", demo.catalogue)
    return connection


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> demo_gen.DemoSummary:
    root = tmp_path_factory.mktemp("demo")
    return demo_gen.write_demo_data(root / "landing", root / "demo", N_ROWS, seed=42)


def one(con: duckdb.DuckDBPyConnection, sql: str):
    return con.sql(sql).fetchall()[0][0]


# ---- shape and determinism -------------------------------------------------------------------


def test_columns_and_types(demo: demo_gen.DemoData) -> None:
    schema = demo.transactions.schema
    assert tuple(schema.names) == demo_gen.UCI_COLUMNS
    assert schema.field("InvoiceDate").type == pa.timestamp("us")
    assert schema.field("Quantity").type == pa.int32()
    assert schema.field("UnitPrice").type == pa.float64()
    assert schema.field("CustomerID").type == pa.int32()
    assert tuple(demo.truth.schema.names) == demo_gen.TRUTH_COLUMNS
    assert demo.truth.schema.field("customer_id").type == pa.string()
    assert demo.n_invoices == pc.count_distinct(demo.transactions.column("InvoiceNo")).as_py()


def test_same_seed_same_output_and_different_seed_differs(demo: demo_gen.DemoData) -> None:
    again = demo_gen.generate_transactions(N_ROWS, seed=42)
    assert again.transactions.equals(demo.transactions)
    assert again.truth.equals(demo.truth)
    assert again.catalogue.equals(demo.catalogue)
    other = demo_gen.generate_transactions(N_ROWS, seed=43)
    assert not other.transactions.equals(demo.transactions)
    assert not other.truth.equals(demo.truth)


@pytest.mark.parametrize("n_rows", [2_000, N_ROWS, 60_000])
def test_row_count_close_to_target(n_rows: int) -> None:
    data = demo_gen.generate_transactions(n_rows, seed=7)
    assert abs(data.transactions.num_rows - n_rows) <= 0.03 * n_rows


def test_package_has_no_dagster_import() -> None:
    modules = sorted(Path(demo_gen.__file__).parent.glob("*.py"))
    assert len(modules) > 5
    for module in modules:
        tree = ast.parse(module.read_text())
        imported = {
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        }
        imported |= {
            node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
        }
        assert not any(name.split(".")[0] == "dagster" for name in imported), module


def test_invalid_arguments_raise() -> None:
    with pytest.raises(ValueError):
        demo_gen.generate_transactions(0)
    with pytest.raises(ValueError):
        demo_gen.generate_transactions(100, start_date="2011-12-09", end_date="2010-12-01")
    with pytest.raises(ValueError):
        demo_gen.DirtRates(guest_lines=1.5)


# ---- time -------------------------------------------------------------------------------------


def test_dates_within_period_and_invoices_increase_with_time(
    demo: demo_gen.DemoData, con: duckdb.DuckDBPyConnection
) -> None:
    dates = demo.transactions.column("InvoiceDate")
    assert pc.min(dates).as_py() >= datetime(2009, 12, 1)
    assert pc.max(dates).as_py() < datetime(2011, 12, 10)  # end_date 2011-12-09 inclusive
    assert demo.observation_end == datetime(2011, 12, 10)
    # one date and one customer per invoice; invoice numbers follow time
    assert (
        one(
            con,
            "SELECT count(*) FROM (SELECT InvoiceNo FROM tx GROUP BY 1 "
            "HAVING count(DISTINCT InvoiceDate) > 1 OR count(DISTINCT CustomerID) > 1)",
        )
        == 0
    )
    assert (
        one(
            con,
            r"""
        SELECT count(*) FROM (
            SELECT InvoiceDate,
                   lag(InvoiceDate) OVER (
                       ORDER BY regexp_replace(InvoiceNo, '^[CA]', '')::INT) AS previous
            FROM (SELECT DISTINCT InvoiceNo, InvoiceDate FROM tx))
        WHERE InvoiceDate < previous""",
        )
        == 0
    )
    assert one(con, r"SELECT bool_and(regexp_matches(InvoiceNo, '^[CA]?\d{6}$')) FROM tx")
    # a trading calendar: no Saturdays, shop hours
    assert one(con, "SELECT count(*) FROM tx WHERE dayofweek(InvoiceDate) = 6") == 0
    assert one(con, "SELECT min(hour(InvoiceDate)) >= 7 AND max(hour(InvoiceDate)) < 20 FROM tx")


def test_custom_period_is_respected() -> None:
    data = demo_gen.generate_transactions(
        5_000, seed=1, start_date=date(2020, 1, 6), end_date="2020-06-30", horizon_days=30
    )
    dates = data.transactions.column("InvoiceDate")
    assert pc.min(dates).as_py() >= datetime(2020, 1, 6)
    assert pc.max(dates).as_py() < datetime(2020, 7, 1)
    assert data.horizon_end == datetime(2020, 7, 31)


# ---- dirt -------------------------------------------------------------------------------------


def test_cancellations(con: duckdb.DuckDBPyConnection) -> None:
    c_rows, c_negative, c_invoices, invoices = con.sql("""
        SELECT count(*) FILTER (WHERE InvoiceNo LIKE 'C%'),
               count(*) FILTER (WHERE InvoiceNo LIKE 'C%' AND Quantity < 0),
               count(DISTINCT InvoiceNo) FILTER (WHERE InvoiceNo LIKE 'C%'),
               count(DISTINCT InvoiceNo) FILTER (WHERE InvoiceNo NOT SIMILAR TO '[CA].*')
        FROM tx""").fetchall()[0]
    assert c_rows == c_negative  # every line of a C invoice takes something back
    assert 0.003 * N_ROWS < c_rows < 0.03 * N_ROWS
    # UCI: 3,836 cancellation invoices to 22,064 purchase invoices (0.17), each small
    assert 0.08 < c_invoices / invoices < 0.25
    assert c_rows / c_invoices < 4
    # and only C invoices (and bad debt adjustments) carry negative quantities
    assert one(con, "SELECT count(*) FROM tx WHERE Quantity < 0 AND InvoiceNo NOT LIKE 'C%'") == 0
    # a cancelled product line takes back a product its customer bought earlier
    assert (
        one(
            con,
            """
        SELECT count(*) FROM tx c
        WHERE c.InvoiceNo LIKE 'C%' AND c.StockCode NOT IN ('D', 'M', 'AMAZONFEE')
          AND NOT EXISTS (SELECT 1 FROM tx p WHERE p.InvoiceNo NOT LIKE 'C%'
              AND p.StockCode = c.StockCode AND p.CustomerID IS NOT DISTINCT FROM c.CustomerID
              AND p.InvoiceDate <= c.InvoiceDate)""",
        )
        == 0
    )


def test_guest_rows_without_customer_id(con: duckdb.DuckDBPyConnection) -> None:
    share = one(con, "SELECT avg((CustomerID IS NULL)::INT) FROM tx")
    assert 0.20 < share < 0.30  # UCI: 24.9 %


def test_zero_and_negative_prices(con: duckdb.DuckDBPyConnection) -> None:
    zero, bad_debt, negative = con.sql("""
        SELECT count(*) FILTER (WHERE UnitPrice = 0),
               count(*) FILTER (WHERE StockCode = 'B'),
               count(*) FILTER (WHERE UnitPrice < 0)
        FROM tx""").fetchall()[0]
    assert 5 <= zero <= 0.006 * N_ROWS
    assert bad_debt >= 1 and negative == bad_debt
    assert one(
        con,
        "SELECT bool_and(Description = 'Adjust bad debt' AND InvoiceNo LIKE 'A%' "
        "AND CustomerID IS NULL) FROM tx WHERE StockCode = 'B'",
    )


def test_non_product_codes(con: duckdb.DuckDBPyConnection) -> None:
    counts = dict(con.sql("SELECT StockCode, count(*) FROM tx GROUP BY 1").fetchall())
    for code in NON_PRODUCT:
        assert counts.get(code, 0) >= 1, code
    share = sum(counts.get(code, 0) for code in NON_PRODUCT) / N_ROWS
    assert 0.002 < share < 0.01
    assert one(con, "SELECT bool_and(UnitPrice = 18) FROM tx WHERE StockCode = 'POST'")
    assert one(
        con, "SELECT bool_and(Quantity = -1 AND InvoiceNo LIKE 'C%') FROM tx WHERE StockCode = 'D'"
    )


def test_exact_duplicate_lines(con: duckdb.DuckDBPyConnection) -> None:
    duplicates = one(
        con, "SELECT count(*) - (SELECT count(*) FROM (SELECT DISTINCT * FROM tx)) FROM tx"
    )
    assert 0.005 * N_ROWS < duplicates < 0.016 * N_ROWS


def test_dirt_rates_are_parameters() -> None:
    clean = demo_gen.DirtRates(
        guest_lines=0,
        cancelled_orders=0,
        zero_price_lines=0,
        non_product_lines=0,
        duplicate_lines=0,
        bad_debt_rows=0,
    )
    data = demo_gen.generate_transactions(
        5_000, seed=3, dirt=clean, behaviour=demo_gen.Behaviour(anomalous_share=0)
    )
    tx = data.transactions
    assert tx.column("CustomerID").null_count == 0
    assert pc.min(tx.column("Quantity")).as_py() > 0
    assert pc.min(tx.column("UnitPrice")).as_py() > 0
    assert not pc.any(pc.is_in(tx.column("StockCode"), pa.array(NON_PRODUCT + ["B"]))).as_py()
    assert tx.group_by(list(demo_gen.UCI_COLUMNS)).aggregate([]).num_rows == tx.num_rows


# ---- behaviour --------------------------------------------------------------------------------


def test_bulk_buyers_buy_much_larger_quantities(con: duckdb.DuckDBPyConnection) -> None:
    medians = dict(
        con.sql("""
        SELECT t.is_bulk, median(x.Quantity)
        FROM tx x JOIN truth t ON t.customer_id = x.CustomerID::VARCHAR
        WHERE x.Quantity > 0
          AND x.StockCode NOT IN ('POST', 'DOT', 'M', 'C2', 'BANK CHARGES', 'AMAZONFEE')
        GROUP BY 1""").fetchall()
    )
    assert medians[True] >= 24
    assert medians[False] <= 6
    assert medians[True] >= 8 * medians[False]


def test_extreme_quantities_come_from_anomalous_customers(
    con: duckdb.DuckDBPyConnection,
) -> None:
    owners = con.sql("""
        SELECT DISTINCT t.is_anomalous
        FROM tx x JOIN truth t ON t.customer_id = x.CustomerID::VARCHAR
        WHERE x.Quantity >= 1000""").fetchall()
    assert owners == [(True,)]  # seed 42 has some; nobody else buys thousands on a line


def test_anomalous_customers_buy_extreme_quantities_often_cancelled() -> None:
    data = demo_gen.generate_transactions(
        10_000, seed=11, behaviour=demo_gen.Behaviour(anomalous_share=0.3, monster_line_rate=0.05)
    )
    con = duckdb.connect()
    con.register("tx", data.transactions)
    con.register("truth", data.truth)
    extreme, cancelled, by_anomalous = con.sql("""
        SELECT count(*) FILTER (WHERE x.Quantity >= 1000),
               count(*) FILTER (WHERE x.Quantity <= -1000 AND x.InvoiceNo LIKE 'C%'),
               count(*) FILTER (WHERE abs(x.Quantity) >= 1000 AND t.is_anomalous)
        FROM tx x JOIN truth t ON t.customer_id = x.CustomerID::VARCHAR""").fetchall()[0]
    assert extreme >= 10
    assert extreme * 0.3 <= cancelled <= extreme  # most are taken back soon after
    assert by_anomalous == extreme + cancelled
    odd = con.sql("""
        SELECT count(*) FROM tx x JOIN truth t ON t.customer_id = x.CustomerID::VARCHAR
        WHERE t.is_anomalous AND (x.UnitPrice < 0.1 OR x.UnitPrice > 100)
          AND x.StockCode SIMILAR TO '[0-9]{5}[A-Z]?'""").fetchall()[0][0]
    assert odd >= 1  # unusual unit prices on product lines


def test_catalogue(demo: demo_gen.DemoData) -> None:
    cat = demo.catalogue.to_pylist()
    assert 2_000 <= len(cat) <= 4_000
    assert len({row["stock_code"] for row in cat}) == len(cat)
    assert all(re.fullmatch(r"\d{5}[A-Z]?", row["stock_code"]) for row in cat)
    assert any(row["stock_code"][-1].isalpha() for row in cat)
    for row in cat:  # each description names its own category, and no other
        named = [c for c in demo_gen.CATEGORIES if re.search(rf"\b{c}\b", row["description"])]
        assert named == [row["category"]], row
    assert {row["category"] for row in cat} == set(demo_gen.CATEGORIES)
    prices = np.array([row["base_price"] for row in cat])
    assert prices.min() > 0 and np.mean((prices >= 0.4) & (prices <= 15)) > 0.9


# ---- truth ------------------------------------------------------------------------------------


def test_truth_one_row_per_customer_with_an_id(con: duckdb.DuckDBPyConnection) -> None:
    in_tx = {
        row[0]
        for row in con.sql(
            "SELECT DISTINCT CustomerID::VARCHAR FROM tx WHERE CustomerID IS NOT NULL"
        ).fetchall()
    }
    in_truth = [row[0] for row in con.sql("SELECT customer_id FROM truth").fetchall()]
    assert len(in_truth) == len(set(in_truth))
    assert set(in_truth) == in_tx
    assert min(int(c) for c in in_truth) == demo_gen.FIRST_CUSTOMER_ID
    assert all(re.fullmatch(r"\d{5}", c) for c in in_truth)


def test_truth_agrees_with_the_transactions(con: duckdb.DuckDBPyConnection) -> None:
    # orders and first purchase seen in the file match the truth exactly
    mismatches = one(
        con,
        """
        WITH seen AS (
            SELECT CustomerID::VARCHAR AS customer_id,
                   count(DISTINCT InvoiceNo) FILTER (WHERE InvoiceNo NOT LIKE 'C%') AS orders,
                   min(InvoiceDate) AS first_ts,
                   max(InvoiceDate) FILTER (WHERE InvoiceNo NOT LIKE 'C%') AS last_ts,
                   sum(Quantity * UnitPrice) FILTER (WHERE StockCode NOT IN
                       ('POST', 'DOT', 'M', 'D', 'C2', 'BANK CHARGES', 'AMAZONFEE')) AS spend
            FROM (SELECT DISTINCT * FROM tx) WHERE CustomerID IS NOT NULL GROUP BY 1)
        SELECT count(*) FROM seen JOIN truth USING (customer_id)
        WHERE seen.orders <> truth.n_orders_observed
           OR seen.first_ts <> truth.acquisition_ts
           OR abs(seen.spend - truth.spend_observed) > 0.01
           OR (truth.dropout_ts IS NOT NULL AND seen.last_ts > truth.dropout_ts)""",
    )
    assert mismatches == 0


def test_truth_horizon_columns(demo: demo_gen.DemoData, con: duckdb.DuckDBPyConnection) -> None:
    truth = demo.truth.to_pandas()
    assert (truth["purchased_in_horizon"] == (truth["future_orders"] > 0)).all()
    # spend in the horizon needs a purchase there; without one it can only be negative (a
    # cancellation, dated in the horizon, of an order made before it)
    assert ((truth["future_spend"] > 0) <= truth["purchased_in_horizon"]).all()
    assert (truth["future_spend"][~truth["purchased_in_horizon"]] <= 0).all()
    assert ((truth["future_categories"] != "") == truth["purchased_in_horizon"]).all()
    # someone who dropped out before the end buys nothing in the horizon
    dead = ~truth["alive_at_end"]
    assert truth["dropout_ts"][dead].notna().all()
    assert (truth["dropout_ts"][dead] < demo.observation_end).all()
    assert (truth["future_orders"][dead] == 0).all()
    assert 0.05 < truth["purchased_in_horizon"].mean() < 0.6
    assert 0.02 < truth["is_bulk"].mean() < 0.2
    top = truth["preferred_categories"].str.split(",")
    assert (top.str.len() == 3).all()
    assert all(set(t) <= set(demo_gen.CATEGORIES) for t in top)
    prefs = np.stack(truth["category_preferences"].to_numpy())
    assert prefs.shape[1] == len(demo_gen.CATEGORIES)
    np.testing.assert_allclose(prefs.sum(axis=1), 1.0, atol=1e-5)


# ---- writing ----------------------------------------------------------------------------------


def test_csv_round_trips_through_duckdb(
    written: demo_gen.DemoSummary, demo: demo_gen.DemoData
) -> None:
    path = written.transactions_path
    assert path.name == "online_retail_demo.csv"
    assert written.n_rows == demo.transactions.num_rows
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary files left
    con = duckdb.connect()
    relation = duckdb.read_csv(str(path), connection=con)
    assert relation.columns == list(demo_gen.UCI_COLUMNS)
    assert relation.shape[0] == demo.transactions.num_rows
    header = path.open().readline().strip()
    assert header == ",".join(demo_gen.UCI_COLUMNS)
    dates = [row[0] for row in relation.select("InvoiceDate").fetchall()]
    first = demo.transactions.column("InvoiceDate")[0].as_py()
    assert all(re.fullmatch(r"[1-9]\d?/[1-9]\d?/\d{4} [12]?\d:\d\d", d) for d in dates)
    assert dates[0] == f"{first.month}/{first.day}/{first.year} {first.hour}:{first.minute:02d}"
    con.register("original", demo.transactions)
    con.register("csv", relation)
    differences = con.sql("""
        SELECT count(*) FROM (
            SELECT InvoiceNo, StockCode, Description, Quantity,
                   strptime(InvoiceDate, '%m/%d/%Y %H:%M') AS InvoiceDate,
                   UnitPrice, CustomerID, Country
            FROM csv
            EXCEPT ALL
            SELECT * FROM original)""").fetchall()[0][0]
    assert differences == 0
    assert written.n_customers == pq.read_table(written.truth_path).num_rows
    assert written.catalogue_path.exists()
    assert not list(written.truth_path.parent.glob(".*.tmp"))


def test_write_parquet_and_xlsx(tmp_path: Path) -> None:
    landing, truth = tmp_path / "landing", tmp_path / "demo"
    summary = demo_gen.write_demo_data(landing, truth, 1_500, seed=5, file_format="parquet")
    table = pq.read_table(summary.transactions_path)
    assert table.schema.field("InvoiceDate").type == pa.timestamp("us")
    summary = demo_gen.write_demo_data(landing, truth, 1_500, seed=5, file_format="xlsx")
    from python_calamine import CalamineWorkbook

    rows = (
        CalamineWorkbook.from_path(str(summary.transactions_path)).get_sheet_by_index(0).to_python()
    )
    assert rows[0] == list(demo_gen.UCI_COLUMNS)
    assert len(rows) - 1 == table.num_rows == summary.n_rows
    # switching formats replaces the earlier demo file, so the demo is never loaded twice
    assert sorted(p.name for p in landing.iterdir()) == ["online_retail_demo.xlsx"]
    assert summary.removed_files == (landing / "online_retail_demo.parquet",)


def test_xlsx_refuses_more_rows_than_a_sheet_holds(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="xlsx"):
        demo_gen.write_demo_data(tmp_path, tmp_path, 2_000_000, file_format="xlsx")
    assert list(tmp_path.iterdir()) == []


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = demo_gen.main(
        ["--rows", "3000", "--seed", "9", "--data-dir", str(tmp_path), "--no-progress"]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert re.search(r"wrote [\d,]+ rows, [\d,]+ customers", out)
    assert (tmp_path / "landing" / "online_retail_demo.csv").exists()
    assert (tmp_path / "demo" / demo_gen.TRUTH_FILE).exists()
    assert (tmp_path / "demo" / demo_gen.CATALOGUE_FILE).exists()
    end = datetime(2011, 12, 9) + timedelta(days=1)
    relation = duckdb.read_csv(str(tmp_path / "landing" / "online_retail_demo.csv"))
    dates = relation.select("strptime(InvoiceDate, '%m/%d/%Y %H:%M') AS ts").fetchall()
    last = max(row[0] for row in dates)
    assert last < end
