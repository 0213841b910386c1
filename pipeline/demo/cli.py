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
        )
    except ValueError as error:
        parser.error(str(error))
    print(summary.line())
    return 0
