"""Engine benchmark: ingest + clean + customer features, three ways, on generated CSV.

    python benchmarks/engine.py --rows 1000000              # quick set (make bench)
    python benchmarks/engine.py --rows 1000000 10000000     # scale set (make bench-scale)

Variants, each in its own process on the same generated file, timed from after the imports:

* ``project``: the project's public entry points, on a fresh DuckDB file per repetition:
  ``ingest_landing -> build_staging -> build_product_categories -> build_customer_rfm``.
* ``duckdb``: a bare DuckDB SQL script doing the same read (read_csv with the known types),
  the same cleaning rules (missing customer, future date, cancellation, non-positive price,
  non-product code, duplicate line, first copy kept) into the same raw / staging tables,
  and the same per-customer features (FEATURE_COLUMNS) in one statement: the floor of this
  design.
* ``pandas``: the usual notebook approach: pd.read_csv, boolean masks, drop_duplicates,
  groupby with pandas' built-in aggregations.

The three must agree on the row counts per table and, customer by customer, on every column
of FEATURE_COLUMNS (each worker writes them to a Parquet file after its clock stops); the
script says so when they do not. The project also builds the product categories and the
features that use them (distinct categories, the named RFM segment), which the other two
leave out. Targets (checked at the largest size run): the project within 1.5x of bare
DuckDB, and at least 5x faster than pandas.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# BENCH_PROJECT_ROOT: import ``pipeline`` from another copy (see --project-at).
sys.path.insert(0, os.environ.get("BENCH_PROJECT_ROOT") or str(Path(__file__).resolve().parents[1]))

from _harness import (  # noqa: E402
    DEFAULT_DATA_DIR,
    PROJECT_ROOT,
    Samples,
    emit_result,
    fmt_bytes,
    fmt_count,
    fmt_ratio,
    fmt_seconds,
    log,
    machine_info,
    markdown_table,
    print_machine,
    python_child,
    run_child,
)

from pipeline.catalog import TABLES  # noqa: E402
from pipeline.settings import DEFAULT_NON_PRODUCT_CODES  # noqa: E402

VARIANTS = ("project", "duckdb", "pandas")
BASELINE = "duckdb"
TARGET_VS_DUCKDB = 1.5  # project seconds / bare DuckDB seconds, at most
TARGET_VS_PANDAS = 5.0  # pandas seconds / project seconds, at least
SEED = 42

# The cleaning rules' parameters: the project's defaults, shared by every variant.
NON_PRODUCT_CODES = DEFAULT_NON_PRODUCT_CODES
FUTURE_TOLERANCE_DAYS = 1

# The columns of features.customer_rfm that every variant computes, compared per customer:
# the catalog's, less what only the project builds (the product categories' column and what
# it derives from the scores), so a feature added to the project is asked of all three.
PROJECT_ONLY_COLUMNS = ("distinct_categories", "rfm_cell", "rfm_segment", "as_of")
FEATURE_COLUMNS = tuple(
    column.name
    for column in TABLES["features.customer_rfm"].columns
    if column.name not in PROJECT_ONLY_COLUMNS
)
FEATURES_FILE = "features.parquet"  # in the worker's workdir, written after the clock


# ---------------------------------------------------------------------------------------------
# Input data
# ---------------------------------------------------------------------------------------------
def _generator_fingerprint() -> str:
    digest = hashlib.sha256()
    for source in sorted((PROJECT_ROOT / "pipeline" / "demo").glob("*.py")):
        digest.update(source.name.encode() + source.read_bytes())
    return digest.hexdigest()[:16]


def ensure_data(data_dir: Path, rows: int, timeout: float, seed: int = SEED) -> tuple[Path, dict]:
    """The generated CSV for ``rows`` (made once, reused while the generator is unchanged).

    Generates with the project's CLI, ``python -m pipeline.demo``, in a child process
    so that its time and peak memory are measured too."""
    folder = data_dir / f"csv-{rows}-seed{seed}"
    marker = folder / "generated.json"
    csv = folder / "landing" / "online_retail_demo.csv"
    fingerprint = _generator_fingerprint()
    if marker.exists() and csv.exists():
        info = json.loads(marker.read_text())
        if info.get("generator") == fingerprint:
            return csv, info | {"cached": True}
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    argv = [sys.executable, "-m", "pipeline.demo", "--rows", rows, "--seed", seed]
    argv += ["--format", "csv", "--data-dir", folder, "--no-progress"]
    log(f"generating {rows:,} rows: {' '.join(str(a) for a in argv[1:])}")
    result = run_child(argv, timeout=timeout)
    if result.returncode != 0:
        raise SystemExit(f"demo data generation failed: {result.failure()}\n{result.stderr}")
    info = {
        "rows_requested": rows,
        "command": "python -m pipeline.demo " + " ".join(str(a) for a in argv[3:]),
        "summary": result.stdout.strip().splitlines()[-1],
        "seconds": round(result.wall_seconds, 2),
        "max_rss_bytes": result.max_rss_bytes,
        "csv_bytes": csv.stat().st_size,
        "generator": fingerprint,
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    marker.write_text(json.dumps(info, indent=2))
    return csv, info | {"cached": False}


# ---------------------------------------------------------------------------------------------
# Workers (run in a child process: --worker VARIANT --csv PATH --workdir DIR)
# ---------------------------------------------------------------------------------------------
def _latest_valid_ts() -> dt.datetime:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return now + dt.timedelta(days=FUTURE_TOLERANCE_DAYS)


class StepClock:
    """Wall seconds per named step, and wall and CPU seconds since it was made."""

    def __init__(self) -> None:
        self.steps: dict[str, float] = {}
        self._cpu_started = time.process_time()
        self._started = self._mark = time.perf_counter()

    def step(self, name: str) -> None:
        """The step ``name`` ended now (it began where the previous one ended)."""
        now = time.perf_counter()
        self.steps[name] = now - self._mark
        self._mark = now

    def figures(self) -> dict:
        return {
            "seconds": time.perf_counter() - self._started,
            "cpu_seconds": time.process_time() - self._cpu_started,
            "steps": self.steps,
        }


def _connect(path: Path):
    """A DuckDB connection with the thread count of --duckdb-threads (default: all cores)."""
    import duckdb

    connection = duckdb.connect(str(path))
    if threads := os.environ.get("BENCH_DUCKDB_THREADS"):
        connection.execute(f"SET threads = {int(threads)}")
    return connection


def _write_features(connection, table: str, workdir: Path) -> None:
    """FEATURE_COLUMNS of ``table`` to the workdir's Parquet file, for the comparison."""
    connection.execute(
        f"COPY (SELECT {', '.join(FEATURE_COLUMNS)} FROM {table} ORDER BY customer_id) "
        f"TO '{workdir / FEATURES_FILE}' (FORMAT parquet)"
    )


def work_project(csv: Path, workdir: Path) -> dict:
    import duckdb

    from pipeline.cleaning import build_staging
    from pipeline.features import build_customer_rfm, default_as_of
    from pipeline.ingest import ingest_landing
    from pipeline.product_categories import build_product_categories, load_rules
    from pipeline.settings import Settings
    from pipeline.sql_text import one_row

    settings = Settings(data_dir=workdir)
    clock = StepClock()

    connection = _connect(workdir / "warehouse.duckdb")
    report = ingest_landing(connection, csv.parent, workdir / "no_column_mappings.yaml")
    clock.step("ingest")
    counts = build_staging(
        connection,
        non_product_codes=settings.non_product_codes,
        latest_valid_ts=_latest_valid_ts(),
    )
    clock.step("clean")
    build_product_categories(connection, settings.product_categories_path, load_rules())
    clock.step("categories")
    customers = build_customer_rfm(connection, default_as_of(connection))
    clock.step("features")
    connection.close()
    clock.step("close")
    figures = clock.figures()
    with duckdb.connect(str(workdir / "warehouse.duckdb"), read_only=True) as reader:
        _write_features(reader, "features.customer_rfm", workdir)
        (monetary,) = one_row(reader, "SELECT sum(monetary) FROM features.customer_rfm")
    import pipeline

    return {
        "pipeline": str(Path(pipeline.__file__).parent),
        **figures,
        "counts": {
            "raw": report.rows_loaded,
            "quarantined": report.rows_quarantined,
            "transactions": counts.transactions,
            "returns": counts.returns,
            "excluded": counts.excluded,
            "customers": customers,
        },
        "monetary": monetary,
    }


BARE_SCHEMAS_SQL = "CREATE SCHEMA raw; CREATE SCHEMA staging; CREATE SCHEMA features;"
BARE_LOAD_SQL = """
CREATE TABLE raw.transactions AS
SELECT InvoiceNo AS invoice_id, upper(StockCode) AS stock_code, Description AS description,
       Quantity AS quantity, InvoiceDate AS invoice_ts, UnitPrice AS unit_price,
       CustomerID AS customer_id, Country AS country, Quantity * UnitPrice AS line_amount
FROM read_csv($path, header := true, auto_detect := false, delim := ',', quote := '"',
              timestampformat := '%m/%d/%Y %H:%M',
              columns := {'InvoiceNo': 'VARCHAR', 'StockCode': 'VARCHAR',
                          'Description': 'VARCHAR', 'Quantity': 'DOUBLE',
                          'InvoiceDate': 'TIMESTAMP', 'UnitPrice': 'DOUBLE',
                          'CustomerID': 'VARCHAR', 'Country': 'VARCHAR'});
"""

# The project's rules, first match wins, as a view (a view takes no parameters: the values
# are written in); duplicates by GROUP BY, no file-order window. Of the formulations tried
# (a temp table of classified rows; SELECT DISTINCT plus a second GROUP BY for the copies),
# this one was the fastest at 1M and 10M rows.
BARE_CLASSIFY_SQL = """
CREATE TEMP VIEW classified AS
SELECT *,
    CASE
        WHEN customer_id IS NULL THEN 'missing_customer'
        WHEN invoice_ts > TIMESTAMP '{latest_valid_ts}' THEN 'future_date'
        WHEN starts_with(upper(coalesce(invoice_id, '')), 'C') OR quantity < 0
            THEN 'cancellation'
        WHEN unit_price <= 0 THEN 'non_positive_price'
        WHEN stock_code IN ({non_product_codes}) THEN 'non_product_code'
    END AS rule
FROM raw.transactions
"""
BARE_CLEAN_SQL = """
CREATE TEMP TABLE purchases AS
SELECT * EXCLUDE (rule), count(*) AS copies FROM classified WHERE rule IS NULL GROUP BY ALL;
CREATE TABLE staging.transactions AS SELECT * EXCLUDE (copies) FROM purchases;
CREATE TABLE staging.returns AS
SELECT * EXCLUDE (rule) FROM classified WHERE rule = 'cancellation';
CREATE TABLE staging.excluded AS
SELECT * FROM classified WHERE rule <> 'cancellation'
UNION ALL
SELECT * EXCLUDE (copies, range), 'duplicate_line' FROM purchases, range(copies - 1)
WHERE copies > 1;
"""

BARE_FEATURES_SQL = """
CREATE TABLE features.customer_rfm AS
WITH snapshot AS (
    SELECT (max(invoice_ts)::DATE + 1)::TIMESTAMP AS as_of FROM staging.transactions
), orders AS (
    -- Exact sums (DECIMAL), as the project's: reproducible whatever the threads' order.
    SELECT customer_id, invoice_id, min(invoice_ts) AS order_ts,
           sum(line_amount::DECIMAL(38, 6)) AS amount
    FROM staging.transactions GROUP BY customer_id, invoice_id
), order_stats AS (
    SELECT customer_id, count(*) AS frequency, avg(amount) AS avg_order_value,
           avg(gap_days) AS mean_days_between_purchases,
           stddev_samp(gap_days) AS std_days_between_purchases
    FROM (SELECT *, date_diff('second', lag(order_ts) OVER (PARTITION BY customer_id
                                                            ORDER BY order_ts),
                              order_ts) / 86400.0 AS gap_days
          FROM orders)
    GROUP BY customer_id
), lines AS (
    SELECT customer_id, min(invoice_ts) AS first_purchase_ts,
           max(invoice_ts) AS last_purchase_ts,
           sum(line_amount::DECIMAL(38, 6))::DOUBLE AS gross_spend,
           count(*) AS purchase_lines, sum(quantity::DECIMAL(38, 6))::DOUBLE AS total_units,
           avg(quantity::DECIMAL(38, 6)) AS avg_units_per_line,
           max(quantity) AS max_units_per_line,
           coalesce(stddev_pop(quantity) / nullif(avg(quantity), 0), 0) AS units_per_line_cv,
           median(unit_price) AS median_unit_price,
           count(DISTINCT stock_code) AS distinct_products
    FROM staging.transactions GROUP BY customer_id
), countries AS (
    -- The most frequent country; ties: the first in alphabetical order (as the project).
    SELECT customer_id, first(country ORDER BY n DESC, country) AS country
    FROM (SELECT customer_id, country, count(*) AS n FROM staging.transactions
          WHERE country IS NOT NULL GROUP BY ALL)
    GROUP BY customer_id
), returned AS (
    SELECT customer_id, -sum(line_amount::DECIMAL(38, 6))::DOUBLE AS returned_amount
    FROM staging.returns, snapshot WHERE invoice_ts < as_of GROUP BY customer_id
), measures AS (
    SELECT l.customer_id,
           date_diff('day', l.last_purchase_ts::DATE, s.as_of::DATE) AS recency_days,
           o.frequency,
           l.gross_spend - coalesce(r.returned_amount, 0) AS monetary,
           date_diff('day', l.first_purchase_ts::DATE, s.as_of::DATE) AS tenure_days,
           o.avg_order_value,
           l.total_units / o.frequency AS avg_basket_quantity,
           coalesce(r.returned_amount, 0) / nullif(l.gross_spend, 0) AS return_rate,
           l.gross_spend, coalesce(r.returned_amount, 0) AS returned_amount,
           l.purchase_lines, l.avg_units_per_line, l.max_units_per_line, l.units_per_line_cv,
           l.median_unit_price, l.distinct_products,
           o.mean_days_between_purchases, o.std_days_between_purchases, k.country,
           l.first_purchase_ts, l.last_purchase_ts
    FROM lines l JOIN order_stats o USING (customer_id) CROSS JOIN snapshot s
    LEFT JOIN returned r USING (customer_id)
    LEFT JOIN countries k USING (customer_id)
)
SELECT *,
    ntile(5) OVER (ORDER BY recency_days DESC, frequency, customer_id) AS r_score,
    ntile(5) OVER (ORDER BY frequency, round(monetary, 6), customer_id) AS f_score,
    ntile(5) OVER (ORDER BY round(monetary, 6), frequency, customer_id) AS m_score
FROM measures;
"""


def work_duckdb(csv: Path, workdir: Path) -> dict:
    import duckdb

    clock = StepClock()

    connection = _connect(workdir / "bare.duckdb")
    connection.execute(BARE_SCHEMAS_SQL)
    connection.execute(BARE_LOAD_SQL, {"path": str(csv)})
    clock.step("ingest")
    connection.execute(
        BARE_CLASSIFY_SQL.format(
            latest_valid_ts=_latest_valid_ts().isoformat(sep=" "),
            non_product_codes=", ".join(f"'{code}'" for code in NON_PRODUCT_CODES),
        )
    )
    connection.execute(BARE_CLEAN_SQL)
    clock.step("clean")
    connection.execute(BARE_FEATURES_SQL)
    clock.step("features")
    counts = connection.execute(
        """SELECT (SELECT count(*) FROM raw.transactions),
                  (SELECT count(*) FROM staging.transactions),
                  (SELECT count(*) FROM staging.returns),
                  (SELECT count(*) FROM staging.excluded),
                  (SELECT count(*) FROM features.customer_rfm),
                  (SELECT sum(monetary) FROM features.customer_rfm)"""
    ).fetchone()
    connection.close()
    clock.step("close")
    figures = clock.figures()
    with duckdb.connect(str(workdir / "bare.duckdb"), read_only=True) as reader:
        _write_features(reader, "features.customer_rfm", workdir)
    raw, transactions, returns, excluded, customers, monetary = counts
    return {
        **figures,
        "counts": {
            "raw": raw,
            "quarantined": 0,
            "transactions": transactions,
            "returns": returns,
            "excluded": excluded,
            "customers": customers,
        },
        "monetary": monetary,
    }


def _ntile(order, groups: int):
    """SQL ntile(groups) over the row positions in ``order`` (first groups one larger)."""
    import numpy as np

    scores = np.empty(len(order), dtype=np.int8)
    for number, chunk in enumerate(np.array_split(order, groups), start=1):
        scores[chunk] = number
    return scores


def work_pandas(csv: Path, workdir: Path) -> dict:
    import numpy as np
    import pandas as pd

    clock = StepClock()

    text = {"InvoiceNo": str, "StockCode": str, "Description": str}
    frame = pd.read_csv(
        csv,
        dtype=text
        | {"Quantity": "float64", "UnitPrice": "float64"}
        | {"CustomerID": str, "Country": str},
    )
    frame["InvoiceDate"] = pd.to_datetime(frame["InvoiceDate"], format="%m/%d/%Y %H:%M")
    frame["StockCode"] = frame["StockCode"].str.upper()
    frame["line_amount"] = frame["Quantity"] * frame["UnitPrice"]
    clock.step("ingest")

    rules = [
        ("missing_customer", frame["CustomerID"].isna()),
        ("future_date", frame["InvoiceDate"] > _latest_valid_ts()),
        (
            "cancellation",
            frame["InvoiceNo"].str.upper().str.startswith("C").fillna(False)
            | (frame["Quantity"] < 0),
        ),
        ("non_positive_price", frame["UnitPrice"] <= 0),
        ("non_product_code", frame["StockCode"].isin(NON_PRODUCT_CODES)),
    ]
    taken = pd.Series(False, index=frame.index)
    excluded_parts = []
    returns = None
    for name, matches in rules:
        first = matches.fillna(False) & ~taken
        taken |= first
        if name == "cancellation":
            returns = frame[first]
        else:
            excluded_parts.append(frame[first].assign(rule=name))
    purchases = frame[~taken]
    key = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice"]
    duplicate = purchases.duplicated(subset=[*key, "CustomerID", "Country"], keep="first")
    transactions = purchases[~duplicate]
    excluded_parts.append(purchases[duplicate].assign(rule="duplicate_line"))
    excluded = pd.concat(excluded_parts, ignore_index=True)
    clock.step("clean")

    as_of = transactions["InvoiceDate"].max().normalize() + pd.Timedelta(days=1)
    by_customer = transactions.groupby("CustomerID")
    rfm = by_customer.agg(
        first_purchase_ts=("InvoiceDate", "min"),
        last_purchase_ts=("InvoiceDate", "max"),
        gross_spend=("line_amount", "sum"),
        purchase_lines=("line_amount", "size"),
        total_units=("Quantity", "sum"),
        avg_units_per_line=("Quantity", "mean"),
        max_units_per_line=("Quantity", "max"),
        median_unit_price=("UnitPrice", "median"),
        distinct_products=("StockCode", "nunique"),
    )
    units_std = by_customer["Quantity"].std(ddof=0)
    rfm["units_per_line_cv"] = (units_std / rfm["avg_units_per_line"].replace(0, np.nan)).fillna(0)
    # The most frequent country (ties: the first in alphabetical order).
    country_lines = transactions.groupby(["CustomerID", "Country"]).size().reset_index(name="n")
    country_lines = country_lines.sort_values(
        ["CustomerID", "n"], ascending=[True, False], kind="stable"
    )
    rfm["country"] = country_lines.drop_duplicates("CustomerID").set_index("CustomerID")["Country"]

    orders = transactions.groupby(["CustomerID", "InvoiceNo"], as_index=False).agg(
        order_ts=("InvoiceDate", "min"), amount=("line_amount", "sum")
    )
    orders = orders.sort_values(["CustomerID", "order_ts"])
    orders["gap_days"] = orders.groupby("CustomerID")["order_ts"].diff().dt.total_seconds() / 86400
    by_order = orders.groupby("CustomerID")
    rfm["frequency"] = by_order.size()
    rfm["avg_order_value"] = by_order["amount"].mean()
    rfm["mean_days_between_purchases"] = by_order["gap_days"].mean()
    rfm["std_days_between_purchases"] = by_order["gap_days"].std()

    recent_returns = returns[returns["InvoiceDate"] < as_of]
    returned = -recent_returns.groupby("CustomerID")["line_amount"].sum()
    rfm["returned_amount"] = returned.reindex(rfm.index).fillna(0)
    rfm["monetary"] = rfm["gross_spend"] - rfm["returned_amount"]
    rfm["return_rate"] = rfm["returned_amount"] / rfm["gross_spend"].replace(0, np.nan)
    rfm["avg_basket_quantity"] = rfm["total_units"] / rfm["frequency"]
    rfm["recency_days"] = (as_of - rfm["last_purchase_ts"].dt.normalize()).dt.days
    rfm["tenure_days"] = (as_of - rfm["first_purchase_ts"].dt.normalize()).dt.days
    rfm = rfm.reset_index().rename(columns={"CustomerID": "customer_id"})
    ids = rfm["customer_id"].to_numpy()
    rfm["r_score"] = _ntile(np.lexsort((ids, rfm["frequency"], -rfm["recency_days"])), 5)
    spend = rfm["monetary"].round(6)  # equal spends summed in another order tie
    rfm["f_score"] = _ntile(np.lexsort((ids, spend, rfm["frequency"])), 5)
    rfm["m_score"] = _ntile(np.lexsort((ids, rfm["frequency"], spend)), 5)
    clock.step("features")
    figures = clock.figures()
    rfm[list(FEATURE_COLUMNS)].sort_values("customer_id").to_parquet(workdir / FEATURES_FILE)
    return {
        **figures,
        "counts": {
            "raw": len(frame),
            "quarantined": 0,
            "transactions": len(transactions),
            "returns": len(returns),
            "excluded": len(excluded),
            "customers": len(rfm),
        },
        "monetary": float(rfm["monetary"].sum()),
    }


WORKERS = {"project": work_project, "duckdb": work_duckdb, "pandas": work_pandas}


# ---------------------------------------------------------------------------------------------
# Parent
# ---------------------------------------------------------------------------------------------
def check_agreement(results: dict[str, Samples]) -> list[str]:
    """Differences between the variants' outputs (empty when they agree)."""
    problems = []
    reference_name = next(
        (v for v in (BASELINE, *results) if v in results and results[v].facts), None
    )
    if reference_name is None:
        return problems
    reference = results[reference_name].facts
    for name, samples in results.items():
        if not samples.facts or name == reference_name:
            continue
        for key, value in reference["counts"].items():
            other = samples.facts["counts"].get(key)
            if other != value:
                problems.append(f"{name} {key} = {other}, {reference_name} {key} = {value}")
        a, b = reference["monetary"], samples.facts["monetary"]
        if abs(a - b) > 1e-6 * max(1.0, abs(a)):
            problems.append(f"{name} total monetary = {b:,.2f}, {reference_name} = {a:,.2f}")
    return problems


def compare_features(files: dict[str, Path]) -> list[str]:
    """Customer-by-customer differences between the variants' FEATURE_COLUMNS files (floats
    to a relative 1e-9: the variants add up in different orders)."""
    import numpy as np
    import pandas as pd

    frames = {name: pd.read_parquet(path) for name, path in files.items()}
    reference_name = BASELINE if BASELINE in frames else next(iter(frames), None)
    if reference_name is None:
        return []
    reference = frames.pop(reference_name).set_index("customer_id")
    problems = []
    for name, frame in frames.items():
        frame = frame.set_index("customer_id")
        if not frame.index.equals(reference.index):
            problems.append(f"{name}: other customers than {reference_name}")
            continue
        for column in FEATURE_COLUMNS[1:]:
            ours, theirs = frame[column], reference[column]
            if pd.api.types.is_float_dtype(ours) or pd.api.types.is_float_dtype(theirs):
                same = np.isclose(
                    ours.astype(float), theirs.astype(float), rtol=1e-9, equal_nan=True
                )
            else:
                same = (ours == theirs) | (ours.isna() & theirs.isna())
            if not same.all():
                example = ours.index[~np.asarray(same)][0]
                problems.append(
                    f"{name} {column}: {int((~np.asarray(same)).sum()):,} customers differ from "
                    f"{reference_name} (e.g. {example}: {ours[example]!r} vs {theirs[example]!r})"
                )
    return problems


def target_verdicts(rows: int, results: dict[str, Samples]) -> list[str]:
    """The two targets, met or missed, for one size (wall-clock medians)."""
    verdicts = []
    project, duck, pandas = (results.get(v) for v in ("project", "duckdb", "pandas"))
    if project and project.median and duck and duck.median:
        ratio = project.median / duck.median
        status = "met" if ratio <= TARGET_VS_DUCKDB else "MISSED"
        verdicts.append(
            f"{rows:,} rows: project / bare DuckDB = {ratio:.2f}x "
            f"(target <= {TARGET_VS_DUCKDB}x: {status})"
        )
    if project and project.median and pandas and pandas.median:
        speedup = pandas.median / project.median
        status = "met" if speedup >= TARGET_VS_PANDAS else "MISSED"
        verdicts.append(
            f"{rows:,} rows: pandas / project = {speedup:.2f}x "
            f"(target >= {TARGET_VS_PANDAS}x: {status})"
        )
    if duck and duck.median and pandas and pandas.median:
        verdicts.append(
            f"{rows:,} rows: pandas / bare DuckDB = {pandas.median / duck.median:.2f}x "
            "(the most any DuckDB design could gain over pandas here)"
        )
    return verdicts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000], help="sizes to run")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions per variant")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per child process")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument(
        "--duckdb-threads",
        type=int,
        help="DuckDB threads of the project and bare variants (default: one per core); "
        "1 compares the engines' work on one core with single-threaded pandas",
    )
    parser.add_argument(
        "--project-at",
        action="append",
        default=[],
        metavar="LABEL=DIR",
        help="also run the project variant importing `pipeline` from DIR (another copy of the "
        "repository, e.g. the code before a change), shown as project@LABEL",
    )
    parser.add_argument("--worker", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--csv", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        emit_result(WORKERS[args.worker](args.csv, args.workdir))
        return 0

    roots = {
        "project@" + label: Path(path).resolve()
        for label, _, path in (item.partition("=") for item in args.project_at)
    }
    variants = [*args.variants, *roots]
    info = machine_info()
    print_machine(info)
    print(f"# DuckDB threads: {args.duckdb_threads or 'one per core (default)'}")
    args.data_dir.mkdir(parents=True, exist_ok=True)
    summary_rows, step_rows, verdicts, all_figures = [], [], [], []
    for rows in args.rows:
        csv, generated = ensure_data(args.data_dir, rows, args.timeout)
        how = "cached, generated" if generated["cached"] else "generated"
        print(
            f"\n## {rows:,} rows requested: {csv} ({generated['csv_bytes'] / 1e6:,.0f} MB; "
            f"{how} in {generated['seconds']:.1f} s, peak RSS "
            f"{fmt_bytes(generated['max_rss_bytes'])}: `{generated['command']}`)",
            flush=True,
        )
        results = {variant: Samples() for variant in variants}
        compare_dir = Path(tempfile.mkdtemp(prefix="features-", dir=args.data_dir))
        feature_files: dict[str, Path] = {}
        for repetition in range(1, args.repeat + 1):
            # Interleaved, so that a noisy neighbour spreads over every variant alike.
            for variant in variants:
                worker = variant.partition("@")[0]
                env = {"BENCH_PROJECT_ROOT": str(roots[variant])} if variant in roots else {}
                if args.duckdb_threads:
                    env["BENCH_DUCKDB_THREADS"] = str(args.duckdb_threads)
                workdir = Path(tempfile.mkdtemp(prefix=f"{worker}-", dir=args.data_dir))
                try:
                    child = run_child(
                        python_child(
                            Path(__file__), "--worker", worker, "--csv", csv, "--workdir", workdir
                        ),
                        timeout=args.timeout,
                        env=env,
                    )
                    if child.ok and variant not in feature_files:
                        feature_files[variant] = compare_dir / f"{variant}.parquet"
                        shutil.move(workdir / FEATURES_FILE, feature_files[variant])
                finally:
                    shutil.rmtree(workdir, ignore_errors=True)
                samples = results[variant]
                if not child.ok:
                    samples.failures.append(child.failure())
                    log(f"  {rows:,} {variant} #{repetition}: FAILED {child.failure()}")
                    continue
                payload = child.payload
                samples.add(
                    payload["seconds"],
                    child.max_rss_bytes,
                    payload["steps"],
                    cpu_seconds=payload.get("cpu_seconds"),
                )
                samples.facts = {
                    "counts": payload["counts"],
                    "monetary": payload["monetary"],
                    "pipeline": payload.get("pipeline"),
                }
                log(
                    f"  {rows:,} {variant} #{repetition}: {payload['seconds']:.2f} s "
                    f"(CPU {payload['cpu_seconds']:.2f} s; process {child.wall_seconds:.2f} s), "
                    "peak RSS "
                    f"{fmt_bytes(child.max_rss_bytes)}"
                )
        baseline = results.get(BASELINE)
        base = baseline.median if baseline else None
        base_cpu = baseline.cpu_median if baseline else None
        for variant, samples in results.items():
            median = samples.median
            ratio = median / base if median is not None and base else None
            cpu = samples.cpu_median
            cpu_ratio = cpu / base_cpu if cpu is not None and base_cpu else None
            counts = samples.facts.get("counts", {})
            summary_rows.append(
                [
                    f"{rows:,}",
                    variant,
                    fmt_seconds(median),
                    samples.spread() or "-",
                    fmt_ratio(ratio),
                    fmt_seconds(cpu),
                    fmt_ratio(cpu_ratio),
                    fmt_bytes(samples.peak_rss),
                    fmt_count(counts.get("raw")),
                    fmt_count(counts.get("customers")),
                    f"{len(samples.seconds)}/{args.repeat}"
                    + (f" ({samples.failures[0][:60]})" if samples.failures else ""),
                ]
            )
            steps = samples.step_medians()
            step_rows.append(
                [f"{rows:,}", variant]
                + [
                    fmt_seconds(steps.get(name))
                    for name in ("ingest", "clean", "categories", "features", "close")
                ]
            )
            all_figures.append(
                {
                    "rows_requested": rows,
                    "variant": variant,
                    "seconds": samples.seconds,
                    "median_seconds": median,
                    "ratio_to_duckdb": ratio,
                    "cpu_seconds": samples.cpu_seconds,
                    "median_cpu_seconds": cpu,
                    "cpu_ratio_to_duckdb": cpu_ratio,
                    "peak_rss_bytes": samples.peak_rss,
                    "step_medians": steps,
                    "facts": samples.facts,
                    "failures": samples.failures,
                    "generated": generated,
                }
            )
        problems = check_agreement(results) + compare_features(feature_files)
        shutil.rmtree(compare_dir, ignore_errors=True)
        print(
            "outputs agree: "
            + (
                "yes (row counts per table; every feature column, customer by customer)"
                if not problems
                else "NO"
            )
        )
        for problem in problems:
            print(f"  - {problem}")
        for variant in roots:
            print(f"{variant} imported pipeline from {results[variant].facts.get('pipeline')}")
        verdicts.extend(target_verdicts(rows, results))

    print("\n## Engine: ingest + clean + customer features (median of", args.repeat, "runs)\n")
    print(
        markdown_table(
            [
                "rows requested",
                "variant",
                "median s",
                "min-max s",
                "vs bare DuckDB",
                "CPU s",
                "CPU vs bare",
                "peak RSS",
                "rows read",
                "customers",
                "runs ok",
            ],
            summary_rows,
        )
    )
    print("\n## Median seconds per step\n")
    print(
        markdown_table(
            ["rows requested", "variant", "ingest", "clean", "categories", "features", "close"],
            step_rows,
        )
    )
    print("\n## Targets (defined at 10M rows)\n")
    for verdict in verdicts:
        print(f"- {verdict}")
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "results": all_figures}, indent=2))
        print(f"\nfigures written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
