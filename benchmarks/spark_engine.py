"""The transaction-level layers on DuckDB and on Spark, side by side, on generated CSV.

    python benchmarks/spark_engine.py --rows 1000000
    python benchmarks/spark_engine.py --rows 1000000 --remote sc://127.0.0.1:15002

The input is ingested once on DuckDB (ingestion stays there with either engine); each
variant then starts from a copy of that warehouse and builds the staging tables, the
product categories (DuckDB in both) and features.customer_rfm, timed step by step:

* ``duckdb``: build_staging, build_product_categories, build_customer_rfm;
* ``spark local[N]``: the same through pipeline.spark.layers, Spark in local mode in this
  process (the JVM's start is its own column);
* ``spark connect``: the same against the Spark Connect server at ``--remote``.

Every variant must leave the same staging row counts and the same features (each column,
customer by customer, floats to 1e-9); the script says so when they do not.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _harness import DEFAULT_DATA_DIR, fmt_ratio, log, markdown_table  # noqa: E402
from engine import _latest_valid_ts, ensure_data  # noqa: E402

TABLES = ("staging.transactions", "staging.returns", "staging.excluded")


def _run_variant(name: str, base: Path, workdir: Path, options) -> dict:
    import duckdb

    from pipeline.cleaning import build_staging
    from pipeline.features import build_customer_rfm, default_as_of
    from pipeline.product_categories import build_product_categories, load_rules
    from pipeline.settings import Settings
    from pipeline.spark.lake import Lake
    from pipeline.spark.layers import build_customer_rfm_on_spark, build_staging_on_spark
    from pipeline.spark.session import spark_session

    folder = workdir / name.replace(" ", "_").replace("[", "").replace("]", "")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    shutil.copy(base, folder / "warehouse.duckdb")
    rules = {
        "non_product_codes": Settings(data_dir=folder).non_product_codes,
        "latest_valid_ts": _latest_valid_ts(),
    }
    figures: dict = {"variant": name}
    connection = duckdb.connect(str(folder / "warehouse.duckdb"))
    started = time.perf_counter()
    spark = spark_session(options) if options else None
    figures["session"] = time.perf_counter() - started
    lake = Lake.under(folder)
    mark = time.perf_counter()
    if spark is None:
        build_staging(connection, **rules)
    else:
        build_staging_on_spark(connection, spark, lake, **rules)
    figures["staging"] = time.perf_counter() - mark
    mark = time.perf_counter()
    build_product_categories(connection, folder / "no_categories.csv", load_rules())
    figures["categories"] = time.perf_counter() - mark
    mark = time.perf_counter()
    as_of = default_as_of(connection)
    if spark is None:
        build_customer_rfm(connection, as_of)
    else:
        build_customer_rfm_on_spark(connection, spark, lake, as_of)
    figures["features"] = time.perf_counter() - mark
    figures["total"] = time.perf_counter() - started
    figures["counts"] = [
        connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table in (*TABLES, "features.customer_rfm")
    ]
    figures["features_frame"] = connection.execute(
        "FROM features.customer_rfm ORDER BY customer_id"
    ).df()
    connection.close()
    if spark is not None:
        spark.stop()
    return figures


def _differences(reference: dict, other: dict) -> list[str]:
    import numpy as np
    import pandas as pd

    found = []
    if reference["counts"] != other["counts"]:
        found.append(f"{other['variant']}: rows {other['counts']} != {reference['counts']}")
    left, right = reference["features_frame"], other["features_frame"]
    for column in left.columns:
        a, b = left[column], right[column]
        if pd.api.types.is_float_dtype(a):
            same = np.allclose(a, b, rtol=1e-9, atol=1e-9, equal_nan=True)
        else:
            same = a.fillna(-1).astype(str).tolist() == b.fillna(-1).astype(str).tolist()
        if not same:
            found.append(f"{other['variant']}: features.customer_rfm.{column} differs")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="4g")
    parser.add_argument("--remote", default="", help="also run on this Spark Connect URL")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    args = parser.parse_args(argv)

    import duckdb

    from pipeline.ingest import ingest_landing
    from pipeline.spark.session import SparkOptions

    csv, _ = ensure_data(args.data_dir, args.rows, timeout=3600)
    workdir = args.data_dir / f"spark-engine-{args.rows}"
    workdir.mkdir(parents=True, exist_ok=True)
    base = workdir / "ingested.duckdb"
    if not base.exists():
        log(f"ingesting {csv}")
        with duckdb.connect(str(base)) as connection:
            ingest_landing(connection, csv.parent, workdir / "no_column_mappings.yaml")
    variants = [
        ("duckdb", None),
        (
            f"spark {args.master}",
            SparkOptions(master=args.master, driver_memory=args.driver_memory),
        ),
    ]
    if args.remote:
        variants.append(("spark connect", SparkOptions(remote=args.remote)))
    load_before = os.getloadavg()
    results = []
    for name, options in variants:
        log(f"running {name}")
        results.append(_run_variant(name, base, workdir, options))
    load_after = os.getloadavg()
    baseline = results[0]["total"]
    print(f"\n### Transaction-level layers, {args.rows:,} generated rows\n")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}\n")
    print(
        markdown_table(
            [
                "engine",
                "session s",
                "staging s",
                "categories s",
                "features s",
                "total s",
                "x DuckDB",
                "x DuckDB without session",
            ],
            [
                (
                    r["variant"],
                    f"{r['session']:.1f}",
                    f"{r['staging']:.1f}",
                    f"{r['categories']:.1f}",
                    f"{r['features']:.1f}",
                    f"{r['total']:.1f}",
                    fmt_ratio(r["total"] / baseline),
                    fmt_ratio((r["total"] - r["session"]) / baseline),
                )
                for r in results
            ],
        )
    )
    problems = [p for r in results[1:] for p in _differences(results[0], r)]
    print("\n" + ("\n".join(problems) if problems else "every engine gave the same tables"))
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
