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
