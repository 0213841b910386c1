"""Demo data generator: time and peak memory of ``python -m pipeline.demo``.

    python benchmarks/generator.py --rows 10000000
    python benchmarks/generator.py --rows 1000000 10000000 --format csv parquet

Each run is the project's own command line in a child process writing to a fresh folder
(deleted afterwards); the figures are the process's wall time (imports included, as a user
sees it) and its peak RSS, median of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import (  # noqa: E402
    DEFAULT_DATA_DIR,
    Samples,
    fmt_bytes,
    fmt_seconds,
    log,
    machine_info,
    markdown_table,
    print_machine,
    run_child,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000_000])
    parser.add_argument("--format", nargs="+", default=["csv"], choices=["csv", "parquet"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    args = parser.parse_args(argv)

    print_machine(machine_info())
    args.data_dir.mkdir(parents=True, exist_ok=True)
    rows_out = []
    for rows in args.rows:
        for file_format in args.format:
            samples = Samples()
            size = None
            for repetition in range(1, args.repeat + 1):
                folder = Path(tempfile.mkdtemp(prefix="generator-", dir=args.data_dir))
                command = ["-m", "pipeline.demo", "--rows", rows, "--seed", args.seed]
                command += ["--format", file_format, "--data-dir", folder, "--no-progress"]
                try:
                    child = run_child([sys.executable, *command], timeout=args.timeout)
                    landing = folder / "landing" / f"online_retail_demo.{file_format}"
                    size = landing.stat().st_size if landing.exists() else size
                finally:
                    shutil.rmtree(folder, ignore_errors=True)
                if child.returncode != 0:
                    samples.failures.append(child.failure())
                    log(f"  {rows:,} {file_format} #{repetition}: FAILED {child.failure()}")
                    continue
                samples.add(child.wall_seconds, child.max_rss_bytes)
                log(
                    f"  {rows:,} {file_format} #{repetition}: {child.wall_seconds:.2f} s, "
                    f"peak RSS {fmt_bytes(child.max_rss_bytes)}"
                )
            median = samples.median
            rows_out.append(
                [
                    f"`python -m pipeline.demo --rows {rows} --format {file_format}`",
                    fmt_seconds(median),
                    samples.spread() or "-",
                    f"{rows / median:,.0f}" if median else "-",
                    fmt_bytes(samples.peak_rss),
                    f"{size / 1e6:,.0f} MB" if size else "-",
                    f"{len(samples.seconds)}/{args.repeat}",
                ]
            )
    print(f"\n## Demo data generator (median of {args.repeat} runs)\n")
    print(
        markdown_table(
            ["command", "median s", "min-max s", "rows/s", "peak RSS", "file", "runs ok"],
            rows_out,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
