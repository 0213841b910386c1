"""Shared fixtures: an isolated DATA_DIR per test and helpers to write landing files."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

UCI_HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh DATA_DIR with an empty landing folder, used by Settings.from_env()."""
    root = tmp_path / "data"
    (root / "landing").mkdir(parents=True)
    monkeypatch.setenv("DATA_DIR", str(root))
    monkeypatch.delenv("COLUMN_MAPPINGS", raising=False)
    return root


@pytest.fixture
def landing(data_dir: Path) -> Path:
    return data_dir / "landing"


@pytest.fixture
def connection() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    yield con
    con.close()


def write_csv(path: Path, rows: list[str], header: str = UCI_HEADER, encoding="utf-8") -> Path:
    path.write_bytes(("\n".join([header, *rows]) + "\n").encode(encoding))
    return path


def run_refresh(asset_selection=None):
    """The refresh job as `customer-intel refresh` runs it, on the DATA_DIR in force."""
    from dagster import DagsterInstance

    from orchestration.definitions import defs

    job = defs.resolve_job_def("refresh")
    with DagsterInstance.ephemeral() as instance:
        return job.execute_in_process(
            instance=instance, raise_on_error=False, asset_selection=asset_selection
        )


DEMO_ENVIRONMENT = {
    # Demo data ends in December 2011: measure freshness against that, not today.
    "FRESHNESS_REFERENCE_DATE": "2011-12-10",
}


@pytest.fixture(scope="session")
def refreshed(tmp_path_factory):
    """Demo data refreshed twice (as the schedule and the sensor would): (data_dir, first
    result, second result). Shared by the end-to-end tests; they only read the warehouse,
    or append to the prediction log."""
    from pipeline.demo import write_demo_data

    data_dir = tmp_path_factory.mktemp("e2e") / "data"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATA_DIR", str(data_dir))
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        for name, value in DEMO_ENVIRONMENT.items():
            patch.setenv(name, value)
        write_demo_data(data_dir / "landing", data_dir / "demo", n_rows=30_000, seed=7)
        first = run_refresh()
        second = run_refresh()
    return data_dir, first, second


@pytest.fixture
def refreshed_env(refreshed, monkeypatch):
    """Point DATA_DIR at the refreshed demo data for one test."""
    data_dir = refreshed[0]
    monkeypatch.setenv("DATA_DIR", str(data_dir))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    for name, value in DEMO_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    return data_dir


@pytest.fixture(scope="session")
def spark():
    """Spark in local mode on the loopback, once per test session (the JVM takes ~20 s)."""
    from pipeline.spark.session import SparkOptions, spark_session

    session = spark_session(SparkOptions(master="local[2]", shuffle_partitions=2))
    yield session
    session.stop()
