"""The GX checks of raw.transactions and the staging tables after one nightly file: the whole
table against the rows new since the last evaluation (pipeline/quality/scope.py).

```bash
.venv/bin/python benchmarks/scoped_checks.py --rows 1000000
.venv/bin/python benchmarks/scoped_checks.py --state /tmp/ci-bench/refresh-1000000 \
    --target /tmp/scope-bench --repeat 5
```

The state is ``refresh.py``'s for ``--rows`` (``BENCH_DATA_DIR/refresh-<rows>/``; run
refresh.py first) or the folder given with ``--state``; it is copied to ``--target``, never
written. On the copy the script records the scopes' marks (as a check evaluation would),
lands the next day's file as ``refresh.py --incremental`` does, loads and cleans it with the
project's functions (as the raw and staging assets do), then validates each table
``--repeat`` times both ways, interleaved, each validation timed with its scope's
computation and its JSON and HTML results, as the check runs it (``--no-html``: the JSON
only). The load average is
printed before and after: the ratio is the figure to read on a shared machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _harness import (  # noqa: E402
    DEFAULT_DATA_DIR,
    Samples,
    fmt_count,
    fmt_ratio,
    fmt_seconds,
    log,
    machine_info,
    markdown_table,
    print_machine,
)
from refresh import copy_state, write_next_day_file  # noqa: E402

TABLES = ("raw.transactions", "staging.transactions", "staging.returns", "staging.excluded")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--state", type=Path, help="default: BENCH_DATA_DIR/refresh-<rows>")
    parser.add_argument("--target", type=Path, default=Path("/tmp/scope-bench"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--no-html", action="store_true", help="write the JSON result only (no GX HTML page)"
    )
    args = parser.parse_args()
    state = args.state or DEFAULT_DATA_DIR / f"refresh-{args.rows}"
    print_machine(machine_info())
    print(f"\nload average before: {_load()}\n")
    samples, facts = measure(state, args.target, args.repeat, write_html=not args.no_html)
    rows = []
    for table in TABLES:
        whole, scoped = samples[table, "whole"], samples[table, "scoped"]
        rows.append(
            [
                table,
                fmt_count(facts[table]["row_count"]),
                fmt_count(facts[table]["validated_rows"]),
                fmt_seconds(whole.median),
                fmt_seconds(scoped.median),
                fmt_ratio(whole.median / scoped.median if scoped.median else None),
            ]
        )
    headers = ["table", "rows", "scoped rows", "whole s", "scoped s", "whole / scoped"]
    print(markdown_table(headers, rows))
    print(f"\ncleaning of the new day: {facts['cleaning']}; load average after: {_load()}")


def measure(state: Path, target: Path, repeat: int, *, write_html: bool) -> tuple[dict, dict]:
    import duckdb

    from pipeline import quality
    from pipeline.cleaning_incremental import clean_staging
    from pipeline.ingest import ingest_landing
    from pipeline.settings import Settings

    log(f"copying {state} to {target}")
    copy_state(state, target)
    os.environ["DATA_DIR"] = str(target / "data")
    settings = Settings.from_env()
    connection = duckdb.connect(str(settings.warehouse_path))
    clean_staging(connection, _rules(settings))  # a recorded state, if the copy has none
    marks = {table: quality.scope_for(connection, table, None).marks for table in TABLES}
    latest = max(settings.landing_dir.glob("online_retail_2*.csv"))
    log(f"next day: {write_next_day_file(latest, settings.landing_dir)}")
    ingest_landing(connection, settings.landing_dir, settings.mappings_path)
    cleaning = clean_staging(connection, _rules(settings)).describe()
    samples: dict = {}
    facts: dict = {"cleaning": cleaning}
    for repetition in range(repeat):
        order = ("whole", "scoped") if repetition % 2 == 0 else ("scoped", "whole")
        for table in TABLES:
            for variant in order:
                started = time.perf_counter()
                scope = None
                if variant == "scoped":
                    scope = quality.scope_for(connection, table, marks[table])
                report = quality.validate_table(
                    connection,
                    table,
                    quality.suite_for(table),
                    results_dir=target / "data" / "quality",
                    scope=scope,
                    write_html=write_html,
                )
                samples.setdefault((table, variant), Samples()).add(
                    time.perf_counter() - started, 0
                )
                if variant == "scoped":
                    facts[table] = {
                        "row_count": report.row_count,
                        "validated_rows": report.validated_rows,
                    }
                log(f"{repetition} {table} {variant}: {report.scope}")
    connection.close()
    return samples, facts


def _rules(settings):
    from pipeline.cleaning_state import RuleSettings

    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return RuleSettings(settings.non_product_codes, now, settings.future_tolerance_days)


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


if __name__ == "__main__":
    main()
