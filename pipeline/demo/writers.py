"""Writing the demo: the landing file (CSV, Parquet or Excel) and the truth files, atomically."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.demo.generator import generate_transactions, progress_bar
from pipeline.demo.parameters import (
    CATALOGUE_FILE,
    DEFAULT_END_DATE,
    DEFAULT_HORIZON_DAYS,
    DEFAULT_START_DATE,
    EXCEL_MAX_ROWS,
    FILE_FORMATS,
    LANDING_STEM,
    MAX_CHUNK_CUSTOMERS,
    TRUTH_FILE,
    Behaviour,
    DirtRates,
)
from pipeline.demo.scenarios import DEFAULT_SCENARIO


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`write_demo_data` wrote."""

    transactions_path: Path
    truth_path: Path
    catalogue_path: Path
    file_format: str
    n_rows: int
    n_customers: int  # customers with a CustomerID (= truth rows)
    n_invoices: int
    seed: int
    start_date: date
    end_date: date
    horizon_days: int
    seconds: float
    scenario: str = DEFAULT_SCENARIO
    removed_files: tuple[Path, ...] = field(default=())  # earlier demo files in other formats

    def line(self) -> str:
        return (
            f"wrote {self.n_rows:,} rows, {self.n_customers:,} customers, "
            f"{self.n_invoices:,} invoices ({self.scenario}) to {self.transactions_path} "
            f"(truth: {self.truth_path}) in {self.seconds:.1f} s"
        )


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write through a hidden temporary file in the same folder, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _write_csv(table: pa.Table, path: Path) -> None:
    import duckdb

    with duckdb.connect() as con:
        con.register("demo_transactions", table)
        columns = ", ".join(
            "strftime(InvoiceDate, '%-m/%-d/%Y %-H:%M') AS InvoiceDate"
            if name == "InvoiceDate"
            else name
            for name in table.column_names  # UCI names only: nothing to quote
        )
        con.sql(f"SELECT {columns} FROM demo_transactions").write_csv(
            str(path), header=True, sep=","
        )


def _write_xlsx(table: pa.Table, path: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Online Retail")
    sheet.append(table.column_names)
    for batch in table.to_batches(max_chunksize=50_000):
        for row in zip(*(column.to_pylist() for column in batch.columns), strict=True):
            sheet.append(row)
    workbook.save(path)


def _check_format(file_format: str, n_rows: int) -> str:
    file_format = file_format.lower().lstrip(".")
    if file_format not in FILE_FORMATS:
        raise ValueError(f"file_format must be one of {FILE_FORMATS}, got {file_format!r}")
    if file_format == "xlsx" and n_rows > EXCEL_MAX_ROWS:
        raise ValueError(
            f"xlsx holds at most {EXCEL_MAX_ROWS:,} rows per sheet; asked for {n_rows:,} rows "
            "(use csv or parquet)"
        )
    return file_format


def _write_landing(table: pa.Table, landing_dir: Path, file_format: str) -> tuple[Path, list]:
    """The landing file, and the demo files of other formats it replaces (removed)."""
    transactions_path = landing_dir / f"{LANDING_STEM}.{file_format}"
    writers: dict[str, Callable[[Path], None]] = {
        "csv": lambda tmp: _write_csv(table, tmp),
        "parquet": lambda tmp: pq.write_table(table, tmp),
        "xlsx": lambda tmp: _write_xlsx(table, tmp),
    }
    _atomic_write(transactions_path, writers[file_format])
    removed = []
    for other in FILE_FORMATS:
        stale = landing_dir / f"{LANDING_STEM}.{other}"
        if other != file_format and stale.exists():
            stale.unlink()
            removed.append(stale)
    return transactions_path, removed


def write_demo_data(
    landing_dir: Path,
    truth_dir: Path,
    n_rows: int,
    seed: int = 42,
    file_format: str = "csv",
    *,
    start_date: date | str = DEFAULT_START_DATE,
    end_date: date | str = DEFAULT_END_DATE,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    dirt: DirtRates | None = None,
    behaviour: Behaviour | None = None,
    chunk_customers: int = MAX_CHUNK_CUSTOMERS,
    progress: bool = False,
    scenario: str = DEFAULT_SCENARIO,
) -> DemoSummary:
    """Generate and write ``landing_dir/online_retail_demo.<format>`` plus the truth files.

    Writes ``truth_dir/customer_truth.parquet`` and ``truth_dir/product_catalogue.parquet``.
    ``scenario`` is one of pipeline.demo.scenarios.SCENARIOS (``retail`` by default).
    Every file is replaced atomically; a demo landing file left in another format is removed
    so the pipeline never loads the demo twice.
    """
    began = time.perf_counter()
    file_format = _check_format(file_format, n_rows)
    bar = progress_bar(n_rows) if progress else None
    try:
        data = generate_transactions(
            n_rows,
            seed,
            start_date=start_date,
            end_date=end_date,
            horizon_days=horizon_days,
            dirt=dirt,
            behaviour=behaviour,
            chunk_customers=chunk_customers,
            bar=bar,
            scenario=scenario,
        )
        table = data.transactions
        if file_format == "xlsx" and table.num_rows > EXCEL_MAX_ROWS:
            raise ValueError(
                f"generated {table.num_rows:,} rows, more than the {EXCEL_MAX_ROWS:,} an xlsx "
                "sheet holds; ask for fewer rows"
            )
        if bar is not None:
            bar.set_description(f"demo data: writing {file_format}")
        landing_dir, truth_dir = Path(landing_dir), Path(truth_dir)
        # The truth first: whatever reacts to the landing file finds the truth in place.
        truth_path = truth_dir / TRUTH_FILE
        catalogue_path = truth_dir / CATALOGUE_FILE
        _atomic_write(truth_path, lambda tmp: pq.write_table(data.truth, tmp))
        _atomic_write(catalogue_path, lambda tmp: pq.write_table(data.catalogue, tmp))
        transactions_path, removed = _write_landing(table, landing_dir, file_format)
        if bar is not None:
            bar.set_description("demo data: written")
    finally:
        if bar is not None:
            bar.close()
    return DemoSummary(
        transactions_path=transactions_path,
        truth_path=truth_path,
        catalogue_path=catalogue_path,
        file_format=file_format,
        n_rows=table.num_rows,
        n_customers=data.truth.num_rows,
        n_invoices=data.n_invoices,
        seed=data.seed,
        start_date=data.start_date,
        end_date=data.end_date,
        horizon_days=data.horizon_days,
        seconds=time.perf_counter() - began,
        scenario=data.scenario,
        removed_files=tuple(removed),
    )
