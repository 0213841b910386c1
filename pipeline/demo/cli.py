"""``python -m pipeline.demo``: write demo data from a shell."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from pipeline.demo.parameters import (
    DEFAULT_END_DATE,
    DEFAULT_HORIZON_DAYS,
    DEFAULT_START_DATE,
    FILE_FORMATS,
)
from pipeline.demo.scenarios import DEFAULT_SCENARIO, SCENARIOS
from pipeline.demo.writers import write_demo_data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.demo",
        description="Generate demo retail transactions (UCI Online Retail layout) and the "
        "latent truth per customer.",
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows to generate")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--format", choices=FILE_FORMATS, default="csv", dest="file_format")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="writes <data-dir>/landing and <data-dir>/demo (default: $DATA_DIR or ./data)",
    )
    parser.add_argument("--start", default=DEFAULT_START_DATE.isoformat(), help="first day")
    parser.add_argument("--end", default=DEFAULT_END_DATE.isoformat(), help="last day written")
    parser.add_argument("--horizon-days", type=int, default=DEFAULT_HORIZON_DAYS)
    parser.add_argument(
        "--scenario",
        choices=tuple(SCENARIOS),
        default=DEFAULT_SCENARIO,
        help="retail (default), cohort or seasonal: see pipeline/demo/scenarios.py",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="print the written data's figures against pipeline/demo/targets.yaml",
    )
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress bar (default: when stderr is a terminal)",
    )
    args = parser.parse_args(argv)
    data_dir = args.data_dir
    if data_dir is None:
        data_dir = Path(os.environ.get("DATA_DIR") or "data")
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    try:
        summary = write_demo_data(
            data_dir / "landing",
            data_dir / "demo",
            args.rows,
            args.seed,
            args.file_format,
            start_date=args.start,
            end_date=args.end,
            horizon_days=args.horizon_days,
            progress=progress,
            scenario=args.scenario,
        )
    except ValueError as error:
        parser.error(str(error))
    print(summary.line())
    if args.check:
        _print_check(summary.transactions_path)
    return 0


def _print_check(path: Path) -> None:
    import duckdb

    from pipeline.demo.realism import compare, measure

    with duckdb.connect() as con:
        if path.suffix == ".csv":
            relation = con.sql(
                "SELECT * REPLACE (strptime(InvoiceDate, '%m/%d/%Y %H:%M') AS InvoiceDate) "
                "FROM read_csv($path)",
                params={"path": str(path)},
            )
        elif path.suffix == ".parquet":
            relation = con.sql("FROM read_parquet($path)", params={"path": str(path)})
        else:
            print("--check reads the csv and parquet formats")
            return
        table = relation.arrow().read_all()
    for comparison in compare(measure(table)):
        print(comparison.line())
