"""Order-insensitive fingerprints of a warehouse's tables, to prove two refreshes equal.

Each table's fingerprint is its row count and the sum of a hash per row, so row order does
not matter and a duplicated row does. Columns that differ between equal refreshes by design
(run ids, model version numbers, the wall-clock times of loading, cleaning, scoring and
publishing) are left out, and floating-point values are rounded (to ``float_digits``
decimals) before hashing: DuckDB's parallel sums may differ in the last bits between runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import duckdb

from pipeline.sql_text import quote_identifier

# Wall-clock times of a run and identifiers of runs and model versions.
VOLATILE_COLUMNS = re.compile(
    r"(^|_)(ingested|quarantined|predicted|published|scored|trained|exported|modified|cleaned"
    r"|rebuilt)_at"
    r"(_local)?$|run_id$|(^|_)version$|^mlflow_",
)
_FLOAT_TYPES = {"DOUBLE", "FLOAT", "REAL"}


@dataclass(frozen=True)
class TableFingerprint:
    rows: int
    content: str
    columns: tuple[str, ...]


def _row_hash_sql(columns: list[tuple[str, str]], float_digits: int) -> str:
    parts = []
    for name, data_type in columns:
        identifier = quote_identifier(name)
        if data_type in _FLOAT_TYPES:
            parts.append(f"round({identifier}, {int(float_digits)})")
        elif data_type.endswith("[]") and data_type[:-2] in _FLOAT_TYPES:
            parts.append(f"list_transform({identifier}, v -> round(v, {int(float_digits)}))")
        else:
            parts.append(identifier)
    return f"hash({', '.join(parts)})" if parts else "0"


def fingerprint_tables(
    connection: duckdb.DuckDBPyConnection,
    *,
    schemas: tuple[str, ...] | None = None,
    float_digits: int = 6,
) -> dict[str, TableFingerprint]:
    """``{schema.table: fingerprint}`` for every base table (in ``schemas``, if given)."""
    tables = connection.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() "
        "WHERE NOT temporary AND database_name = current_database() ORDER BY ALL"
    ).fetchall()
    fingerprints = {}
    for schema, table in tables:
        if schemas is not None and schema not in schemas:
            continue
        columns = [
            (name, data_type)
            for name, data_type in connection.execute(
                "SELECT column_name, data_type FROM duckdb_columns() "
                "WHERE schema_name = $s AND table_name = $t "
                "AND database_name = current_database() ORDER BY column_index",
                {"s": schema, "t": table},
            ).fetchall()
            if not VOLATILE_COLUMNS.search(name)
        ]
        qualified = f"{quote_identifier(schema)}.{quote_identifier(table)}"
        rows, content = connection.execute(
            f"SELECT count(*), coalesce(sum({_row_hash_sql(columns, float_digits)}::HUGEINT), 0)"
            f" FROM {qualified}"
        ).fetchone()
        fingerprints[f"{schema}.{table}"] = TableFingerprint(
            int(rows), str(content), tuple(name for name, _ in columns)
        )
    return fingerprints


def differences(
    left: dict[str, TableFingerprint], right: dict[str, TableFingerprint]
) -> dict[str, str]:
    """What differs between two fingerprint sets: ``{table: reason}``, empty when equal."""
    found = {}
    for table in sorted(set(left) | set(right)):
        a, b = left.get(table), right.get(table)
        if a is None or b is None:
            found[table] = "only in the first" if b is None else "only in the second"
        elif a.columns != b.columns:
            found[table] = f"columns differ: {a.columns} vs {b.columns}"
        elif a.rows != b.rows:
            found[table] = f"{a.rows} rows vs {b.rows}"
        elif a.content != b.content:
            found[table] = "same row count, different content"
    return found
