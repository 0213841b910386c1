"""Security basics, tested by behaviour: hostile column and file names are data, never SQL or
glob patterns; and the servers the project starts listen on localhost only."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.reliability.conftest import (
    PROJECT,
    assert_raw_invariants,
    ingest,
    loaded_state,
    rows,
    warehouse,
    write_base,
)
from tests.reliability.test_bad_inputs import CORPUS

TABLES_SQL = "SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT temporary ORDER BY ALL"
HOSTILE_NAMES = [
    "sales 'Q4' [final] copy.csv",  # the corpus file: quotes, spaces, a glob class
    'it\'s a "quoted" name; DROP TABLE raw.transactions; --.csv',
    "orders *.csv",
    "orders ?.csv",
    "orders [1].csv",
    "$path {x}.csv",
]


def test_hostile_file_names_load_their_own_rows_only(tmp_path):
    """DuckDB's readers expand globs: without escaping, 'orders *.csv' read every 'orders
    ….csv' file and 'orders [1].csv' read 'orders 1.csv' instead of itself."""
    landing = tmp_path / "landing"
    landing.mkdir()
    write_base(landing)
    template = (CORPUS / "sales 'Q4' [final] copy.csv").read_text(encoding="utf-8")
    # Innocent files that each hostile name would match as a glob pattern.
    for i, name in enumerate(["orders 1.csv", "orders a.csv", "orders xyz.csv"]):
        (landing / name).write_text(template.replace("536365", f"9{i}0000"), encoding="utf-8")
    for i, name in enumerate(HOSTILE_NAMES):
        (landing / name).write_text(template.replace("536365", f"7{i}0000"), encoding="utf-8")
    with warehouse(tmp_path / "warehouse.duckdb").writer() as connection:
        report = ingest(connection, landing)
        assert {f.status for f in report.files} == {"loaded"}, report.files
        for i, name in enumerate(HOSTILE_NAMES):
            invoices = rows(
                connection,
                "SELECT invoice_id FROM raw.transactions WHERE source_file = $f ORDER BY 1",
                {"f": name},
            )
            assert invoices == [("536366",), (f"7{i}0000",)], name
        for i, name in enumerate(["orders 1.csv", "orders a.csv", "orders xyz.csv"]):
            invoices = rows(
                connection,
                "SELECT invoice_id FROM raw.transactions WHERE source_file = $f ORDER BY 1",
                {"f": name},
            )
            assert invoices == [("536366",), (f"9{i}0000",)], name
        assert_raw_invariants(connection)


@pytest.mark.parametrize("name", ["sql_injection_column.csv", "sql_injection_values.csv"])
def test_injection_attempts_leave_every_table_in_place(tmp_path, name):
    landing = tmp_path / "landing"
    landing.mkdir()
    write_base(landing)
    resource = warehouse(tmp_path / "warehouse.duckdb")
    with resource.writer() as connection:
        ingest(connection, landing)
        before = loaded_state(connection, ["base_good.csv"])
        tables = rows(connection, TABLES_SQL)
    shutil.copyfile(CORPUS / name, landing / name)
    with resource.writer() as connection:
        ingest(connection, landing)
        assert rows(connection, TABLES_SQL) == tables
        assert loaded_state(connection, ["base_good.csv"]) == before


def test_dagster_dev_listens_on_localhost_only(monkeypatch):
    """`customer-intel dev` (and so `make dev`) starts the UI bound to 127.0.0.1."""
    from orchestration import cli

    calls = []

    def fake_execv(program, argv):
        calls.append(argv)
        raise SystemExit(0)

    monkeypatch.setattr(cli.os, "execv", fake_execv)
    monkeypatch.setattr(cli, "ensure_dagster_home", lambda: Path("/nonexistent"))
    with pytest.raises(SystemExit):
        cli.main(["dev"])
    (argv,) = calls
    assert Path(argv[0]).name == "dagster" and argv[1] == "dev"
    host = argv[argv.index("-h") + 1] if "-h" in argv else argv[argv.index("--host") + 1]
    assert host in {"127.0.0.1", "localhost"}


def test_no_source_listens_on_every_interface():
    """Nothing the project starts binds 0.0.0.0 / '::'; `make dev` goes through the CLI
    (checked above), and the Dagster dev test drives the UI on 127.0.0.1."""
    sources = [
        path
        for folder in ("pipeline", "assets", "resources")
        for path in (PROJECT / folder).rglob("*")
        if path.suffix in {".py", ".yaml", ".yml", ".toml", ".sh"}
    ] + [PROJECT / name for name in ("Makefile", "workspace.yaml", "dagster.yaml")]
    everywhere = re.compile(r"0\.0\.0\.0|host\s*=\s*[\"']::[\"']|--host[= ]+::")
    offenders = [
        f"{path.relative_to(PROJECT)}:{number}: {line.strip()}"
        for path in sources
        if path.exists()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if everywhere.search(line)
    ]
    assert not offenders, offenders
    makefile = (PROJECT / "Makefile").read_text(encoding="utf-8")
    dev_recipe = re.search(r"^dev:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert dev_recipe and "customer-intel dev" in dev_recipe.group(1)
