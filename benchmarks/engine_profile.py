"""Where the project's engine time goes: every SQL statement of one run, timed and labelled.

    python benchmarks/engine_profile.py --rows 10000000
    python benchmarks/engine_profile.py --rows 1000000 --operators   # + DuckDB operator profile

Runs the project's entry points once (ingest_landing -> build_staging ->
build_product_categories -> build_customer_rfm) on the generated CSV of
benchmarks/engine.py, through a connection wrapper that times each ``execute``; the file
scan (SHA-256 for the ledger, in a thread beside the CSV read, and the UTF-8 check for
encoding detection) is timed by wrapping ``content_hash`` and ``scan_file``. Each statement
gets a label saying which part of the design it serves, so the extra work the project does
over the bare DuckDB script (lineage, quarantine, ledger, encoding detection, file-ordered
duplicates, sorted staging tables, richer features) has a price next to it.

With ``--operators`` DuckDB's own profiler (``enable_profiling = 'json'``) also writes the
operator tree of each heavy statement to ``--profile-dir`` and prints its top operators.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _harness import DEFAULT_DATA_DIR, machine_info, markdown_table, print_machine  # noqa: E402
from engine import ensure_data  # noqa: E402

from pipeline.sql_text import quote_identifier  # noqa: E402

# (pattern over the normalised SQL, label); first match wins.
LABELS: tuple[tuple[str, str], ...] = (
    (r"_staged_rows AS SELECT \* FROM read_csv", "ingest: read CSV as text (file order)"),
    (r"min\(rowid\), max\(rowid\)", "ingest: record numbers (rowid range)"),
    (r"AS _record_number FROM _staged_rows", "ingest: source_row past rejected lines"),
    (r"TEMP TABLE _features_|features\.customer_rfm AS", "features: customer RFM and behaviour"),
    (r"^INSERT INTO raw\.transactions", "ingest: type text, check errors, insert raw"),
    (r"_timestamp_texts|try_strptime\(trim\(invoice_ts_text\), '", "ingest: one timestamp format?"),
    (r"^INSERT INTO raw\.quarantine", "ingest: quarantine rows"),
    (r"FROM _csv_rejects", "ingest: read CSV rejects"),
    (r"raw\.file_ledger|^SELECT count\(\*\) FROM raw\.transactions", "ingest: ledger, counts"),
    (r"features\.product_categories AS", "categories: products + keyword rules"),
    (r"^CREATE OR REPLACE TEMP TABLE _classified", "clean: rules + duplicate window"),
    (r"^CREATE OR REPLACE TEMP TABLE _later_copies", "clean: find later copies (duplicates)"),
    (r"CREATE OR REPLACE TABLE staging\.transactions AS", "clean: write staging.transactions"),
    (r"CREATE OR REPLACE TABLE staging\.returns AS", "clean: write staging.returns"),
    (r"CREATE OR REPLACE TABLE staging\.excluded AS", "clean: write staging.excluded"),
    (r"CREATE OR REPLACE TABLE staging\.transactions", "clean: write 3 staging tables"),
    (r"staging\.(excluded|transactions|returns)", "clean: counts"),
    (r"max\(invoice_ts\) FROM staging", "features: snapshot date"),
    (r"TEMP MACRO ci_", "ingest: typing macros"),
)
HEAVY_SECONDS = 0.05  # statements at least this slow get an operator profile


def label_of(sql: str) -> str:
    text = " ".join(sql.split())
    for pattern, label in LABELS:
        if re.search(pattern, text):
            return label
    return "other: " + text[:60]


class TimedConnection:
    """Duck-typed stand-in for a DuckDBPyConnection that times every ``execute``."""

    def __init__(self, connection, operators_dir: Path | None = None):
        self._connection = connection
        self.records: list[tuple[str, float, float, str]] = []  # label, wall, CPU, profile
        self._operators_dir = operators_dir
        self._profile_number = 0
        self._profiling = False

    def __getattr__(self, name):
        return getattr(self._connection, name)

    def execute(self, sql, parameters=None):
        # Switch the previous statement's profiling off only now: the caller has read its
        # result by the time it executes the next one (another execute replaces the result).
        if self._profiling:
            self._connection.execute("PRAGMA disable_profiling")
            self._profiling = False
        profile_path = None
        if self._operators_dir is not None and not sql.lstrip().upper().startswith(
            ("BEGIN", "COMMIT", "ROLLBACK", "DROP", "DESCRIBE")
        ):
            self._profile_number += 1
            profile_path = self._operators_dir / f"{self._profile_number:03d}.json"
            self._connection.execute("PRAGMA enable_profiling = 'json'")
            self._connection.execute(f"PRAGMA profiling_output = '{profile_path}'")
            self._profiling = True
        started, cpu_started = time.perf_counter(), time.process_time()
        result = self._connection.execute(sql, parameters or {})
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        self.records.append((label_of(sql), seconds, cpu, str(profile_path or "")))
        return result


def _operators(profile: dict) -> list[tuple[str, float, int]]:
    """(operator + detail, seconds, rows out) for every node of a DuckDB JSON profile (both
    the 1.x layout, a tree under ``children``, and the 2.x one, a list under ``operator``)."""
    found = []

    def walk(node: dict) -> None:
        name = node.get("type") or node.get("operator_type") or node.get("operator_name") or ""
        extra = node.get("extra_info") or {}
        detail = ""
        if isinstance(extra, dict):
            for key in ("Table", "Function", "Aggregates", "Groups", "Partitions", "Expression"):
                if key in extra:
                    detail = f" {key}: {' '.join(str(extra[key]).split())[:90]}"
                    break
        seconds = node.get("timing", node.get("operator_timing", 0.0)) or 0.0
        rows = node.get("intermediate_rows", node.get("operator_cardinality", 0)) or 0
        if name:
            found.append((name.strip() + detail, float(seconds), int(rows)))
        for child in node.get("children", []):
            walk(child)

    for root in profile.get("operator", [profile]):
        walk(root)
    return found


# The demo generator writes UCI dates as 12/1/2010 8:26 (pipeline/demo/assembly.py).
DEMO_DATE_FORMAT = "%m/%d/%Y %H:%M"
BARE_COLUMNS = (
    "{'InvoiceNo': 'VARCHAR', 'StockCode': 'VARCHAR', 'Description': 'VARCHAR', "
    "'Quantity': 'DOUBLE', 'InvoiceDate': 'TIMESTAMP', 'UnitPrice': 'DOUBLE', "
    "'CustomerID': 'VARCHAR', 'Country': 'VARCHAR'}"
)


def _median_run(connection, sql: str, parameters: dict, setup: str, repeat: int):
    walls, cpus = [], []
    for _ in range(repeat):
        connection.execute(setup)
        started, cpu_started = time.perf_counter(), time.process_time()
        connection.execute(sql, parameters)
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu_started)
    return statistics.median(walls), statistics.median(cpus)


def print_ablations(connection, csv: Path, workdir: Path, repeat: int = 3) -> None:
    """What the text staging, the flexible typing and the per-row checks cost: the same
    statements with one feature taken away at a time, on the staged table ingest left."""
    from pipeline.ingest import typed_rows
    from pipeline.ingest.column_mapping import layout_for, load_layouts, resolve_columns
    from pipeline.ingest.sql_files import read_sql
    from pipeline.ingest.staging import STAGED_ROW, STAGED_TABLE

    layout = layout_for(csv.name, load_layouts(workdir / "no_column_mappings.yaml"))
    columns = [
        row[0]
        for row in connection.execute(f"DESCRIBE {STAGED_TABLE}").fetchall()
        if row[0] != STAGED_ROW
    ]
    resolved = resolve_columns(columns, layout)
    one_format = typed_rows.type_timestamp_texts(
        connection, resolved["invoice_ts"], typed_rows.date_formats(layout)
    )
    typed_rows.create_typed_view(
        connection, typed_rows.typed_select(resolved, "rowid", layout.decimal, one_format)
    )
    parameters: dict[str, object] = {}
    lineage = {"source_file": csv.name, "source_sheet": None, "now": dt.datetime.now()}
    insert = read_sql("insert_transactions.sql").replace("raw.transactions", "_ablation")
    setup = "CREATE OR REPLACE TEMP TABLE _ablation AS FROM raw.transactions LIMIT 0"
    q = {name: quote_identifier(source) for name, source in resolved.items()}
    plain = f"""
        INSERT INTO _ablation
        SELECT {q["invoice_id"]}, upper({q["stock_code"]}), {q["description"]},
               TRY_CAST({q["quantity"]} AS DOUBLE),
               try_strptime({q["invoice_ts"]}, '{DEMO_DATE_FORMAT}'),
               TRY_CAST({q["unit_price"]} AS DOUBLE), {q["customer_id"]}, {q["country"]},
               TRY_CAST({q["quantity"]} AS DOUBLE) * TRY_CAST({q["unit_price"]} AS DOUBLE),
               $source_file, $source_sheet, rowid, $now
        FROM {STAGED_TABLE}"""
    read_options = "header := true, null_padding := false"
    cases = [
        (
            "read CSV into a temp table: all text, numbered by rowid (project)",
            f"CREATE OR REPLACE TEMP TABLE _read AS "
            f"FROM read_csv($path, all_varchar := true, {read_options}, store_rejects := true)",
            {"path": str(csv)},
        ),
        (
            "read CSV into a temp table: all text + row_number() in the read",
            f"CREATE OR REPLACE TEMP TABLE _read AS SELECT *, row_number() OVER () AS n "
            f"FROM read_csv($path, all_varchar := true, {read_options}, store_rejects := true)",
            {"path": str(csv)},
        ),
        (
            "read CSV into a temp table: known types (bare DuckDB)",
            f"CREATE OR REPLACE TEMP TABLE _read AS FROM read_csv($path, {read_options}, "
            f"auto_detect := false, delim := ',', quote := '\"', "
            f"timestampformat := '{DEMO_DATE_FORMAT}', columns := {BARE_COLUMNS})",
            {"path": str(csv)},
        ),
        (
            "type staged text: project (flexible typing + per-row checks)",
            insert,
            parameters | lineage,
        ),
        (
            "type staged text: project typing, no per-row checks",
            insert.replace("WHERE is_valid", "WHERE true"),
            parameters | lineage,
        ),
        ("type staged text: plain casts, the file's one date format", plain, lineage),
    ]
    rows = []
    for label, sql, values in cases:
        wall, cpu = _median_run(connection, sql, values, setup, repeat)
        rows.append((label, f"{wall:.2f}", f"{cpu:.2f}"))
    connection.execute("DROP TABLE IF EXISTS _ablation; DROP TABLE IF EXISTS _read")
    print(f"\n## Ablations of the ingest step (median of {repeat}; each into a temp table)\n")
    print(markdown_table(["statement", "seconds", "CPU s"], rows))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--operators", action="store_true", help="DuckDB operator profiles too")
    parser.add_argument("--profile-dir", type=Path, help="where operator profiles go")
    parser.add_argument(
        "--no-ablations", action="store_true", help="skip the typing and reading ablations"
    )
    args = parser.parse_args(argv)

    import duckdb

    from pipeline.cleaning import build_staging
    from pipeline.features import build_customer_rfm, default_as_of
    from pipeline.ingest import loading as ingestion
    from pipeline.product_categories import build_product_categories, load_rules
    from pipeline.settings import Settings

    print_machine(machine_info())
    csv, _ = ensure_data(args.data_dir, args.rows, timeout=3600)
    workdir = Path(tempfile.mkdtemp(prefix="profile-", dir=args.data_dir))
    operators_dir = None
    if args.operators:
        operators_dir = args.profile_dir or workdir / "operators"
        operators_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings(data_dir=workdir)
    connection = TimedConnection(
        duckdb.connect(str(workdir / "warehouse.duckdb")), operators_dir=operators_dir
    )

    real_scan, real_hash = ingestion.scan_file, ingestion.content_hash
    beside: list[tuple[str, float]] = []  # work in a thread, overlapping the statements

    def timed_scan(path):
        started, cpu_started = time.perf_counter(), time.process_time()
        result = real_scan(path)
        connection.records.append(
            (
                "ingest: UTF-8 check (encoding)",
                time.perf_counter() - started,
                time.process_time() - cpu_started,
                "",
            )
        )
        return result

    def timed_hash(path):
        started = time.perf_counter()
        result = real_hash(path)
        beside.append(("SHA-256 of the file for the ledger", time.perf_counter() - started))
        return result

    ingestion.scan_file, ingestion.content_hash = timed_scan, timed_hash
    started, cpu_started = time.perf_counter(), time.process_time()
    ingestion.ingest_landing(connection, csv.parent, workdir / "no_column_mappings.yaml")
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    build_staging(
        connection,
        non_product_codes=settings.non_product_codes,
        latest_valid_ts=now + dt.timedelta(days=settings.future_tolerance_days),
    )
    build_product_categories(connection, settings.product_categories_path, load_rules())
    build_customer_rfm(connection, default_as_of(connection))
    connection.execute("CHECKPOINT")
    total, total_cpu = time.perf_counter() - started, time.process_time() - cpu_started
    ingestion.scan_file, ingestion.content_hash = real_scan, real_hash

    by_label: dict[str, list[tuple[float, float]]] = {}
    for label, seconds, cpu, _ in connection.records:
        by_label.setdefault(label, []).append((seconds, cpu))
    rows = sorted(
        (
            (label, sum(w for w, _ in values), sum(c for _, c in values), len(values))
            for label, values in by_label.items()
        ),
        key=lambda row: -row[1],
    )
    accounted = sum(row[1] for row in rows)
    accounted_cpu = sum(row[2] for row in rows)
    print(
        f"\n## Project engine, {args.rows:,} rows requested: {total:.2f} s in total "
        f"(CPU {total_cpu:.2f} s, all threads)\n"
    )
    print(
        markdown_table(
            ["step", "seconds", "share", "CPU s", "statements"],
            [
                (label, f"{w:.2f}", f"{w / total:.0%}", f"{c:.2f}", n)
                for label, w, c, n in rows
                if w >= 0.005
            ]
            + [
                (
                    "(Python between statements, close)",
                    f"{total - accounted:.2f}",
                    "",
                    f"{total_cpu - accounted_cpu:.2f}",
                    "",
                )
            ],
        )
    )
    for label, seconds in beside:
        print(f"- in a thread beside the CSV read (not in the table): {label}, {seconds:.2f} s")
    if not args.no_ablations:
        connection.execute("PRAGMA disable_profiling")
        try:
            print_ablations(connection._connection, csv, workdir)
        except Exception as error:  # noqa: BLE001 - the ablations use project internals
            print(f"\nablations skipped: {type(error).__name__}: {error}")
    connection.close()
    if operators_dir is not None:
        print("\n## DuckDB operators of the heavy statements (operator time, rows out)\n")
        for label, seconds, _, path in connection.records:
            if not path or seconds < HEAVY_SECONDS or not Path(path).exists():
                continue
            profile = json.loads(Path(path).read_text())
            top = sorted(_operators(profile), key=lambda op: -op[1])[:5]
            cpu = profile.get("query", {}).get("cpu_time")
            cpu_text = f", CPU {cpu:.2f} s" if cpu else ""
            print(f"### {label}: {seconds:.2f} s{cpu_text} ({path})")
            for name, op_seconds, op_rows in top:
                print(f"  {op_seconds:7.2f} s  {op_rows:>12,} rows  {name}")
    # The warehouse is scratch; operator profiles stay when they were asked for.
    if operators_dir is None or args.profile_dir is not None:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        for leftover in workdir.glob("warehouse.duckdb*"):
            leftover.unlink()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
