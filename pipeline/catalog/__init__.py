"""One contract per table: what it holds, its columns, its key and the checks that apply.

The contracts are the YAML files beside this module, one per schema (``raw.yaml``,
``staging.yaml``, ...). Everything else is derived from them: the Dagster column schema and
``dagster/table_name`` (assets/common.py), the DuckDB ``COMMENT ON`` text and the DDL of
the tables created empty (:mod:`pipeline.catalog.ddl`), the Great Expectations suites
(:mod:`pipeline.quality.suites`), the asset checks (assets/quality.py) and the list of
tables the BI snapshot copies (:func:`published_tables`).

A schema file::

    schema: marts
    published: true            # its tables are copied into the BI snapshot
    tables:
      action_plan:             # the table marts.action_plan, asset ["marts", "action_plan"]
        description: ...
        created_empty: true    # optional: the table is created from this contract's DDL
        stored_as: file        # optional: not a warehouse table (exported files)
        key: [rule_order]      # optional: the columns that identify a row
        columns:
          - name: rule_order
            type: BIGINT       # a DuckDB type
            description: ...
          - columns_of: lineage  # a group of column_groups.yaml
        checks:
          blocking:            # a failure stops the downstream assets
            - unique_key
          warn:                # a failure is shown, nothing is stopped
            - schema
            - not_null: [action, rule_order]

Checks (each names its columns, which must be in the table):

| check | meaning |
|---|---|
| ``schema`` | every column exists with its type (other columns may be added) |
| ``unique_key`` | one row per ``key`` value |
| ``unique: [c]`` | each column's values are unique |
| ``not_null: [c]`` | no nulls (and ``NOT NULL`` in the DDL of a table created empty) |
| ``positive``, ``non_negative``, ``probability: [c]`` | > 0, >= 0, in [0, 1] |
| ``range: {c: [min, max]}`` | within the bounds, inclusive |
| ``allowed_values: {c: name or [values]}`` | a named vocabulary (:mod:`.vocabularies`) or a list |
| ``json: [c]`` | parses as JSON |
| ``freshness: c`` | the latest value is recent (window set at run time) |
| ``row_count_sanity`` | the row count did not drop by more than the allowed share |

Range-like checks ignore nulls, as in Great Expectations. Loading never imports GX or
Dagster; a malformed contract raises :class:`ContractError` naming the file and table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pipeline.catalog.vocabularies import VOCABULARIES

CONTRACTS_DIR = Path(__file__).resolve().parent
COLUMN_GROUPS_FILE = "column_groups.yaml"
SEVERITIES = ("blocking", "warn")
TABLE_CHECKS = ("schema", "unique_key", "row_count_sanity")
COLUMN_CHECKS = ("unique", "not_null", "positive", "non_negative", "probability", "json")
MAPPING_CHECKS = ("range", "allowed_values")
CHECK_KINDS = (*TABLE_CHECKS, *COLUMN_CHECKS, *MAPPING_CHECKS, "freshness")
_TABLE_FIELDS = {"description", "columns", "key", "checks", "created_empty", "stored_as"}


class ContractError(ValueError):
    """A contract file that cannot be read as the format above."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # DuckDB type name
    description: str


@dataclass(frozen=True)
class Check:
    """One rule of a contract; ``columns`` is empty for table checks (schema, row count)."""

    kind: str
    severity: str  # "blocking" or "warn"
    columns: tuple[str, ...] = ()
    min_value: Any = None  # range
    max_value: Any = None
    values: tuple[Any, ...] = ()  # allowed_values given as a list
    vocabulary: str | None = None  # allowed_values given by name

    @property
    def blocking(self) -> bool:
        return self.severity == "blocking"

    def allowed(self) -> tuple[Any, ...]:
        """The allowed values, resolving a named vocabulary (which may import its module)."""
        return VOCABULARIES[self.vocabulary]() if self.vocabulary else self.values


@dataclass(frozen=True)
class TableContract:
    name: str  # schema.table, the public contract
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    checks: tuple[Check, ...] = ()
    created_empty: bool = False
    stored_as: str = "table"  # "table" (in the warehouse) or "file"
    published: bool = False

    @property
    def in_warehouse(self) -> bool:
        return self.stored_as == "table"

    @property
    def blocking(self) -> bool:
        """A failed check of this table stops the downstream assets."""
        return any(check.blocking for check in self.checks)

    @property
    def not_null_columns(self) -> frozenset[str]:
        return frozenset(
            c for check in self.checks if check.kind == "not_null" for c in check.columns
        )


def _column_groups(directory: Path) -> dict[str, tuple[Column, ...]]:
    path = directory / COLUMN_GROUPS_FILE
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {
        name: tuple(_column(entry, f"{path.name}: {name}") for entry in entries)
        for name, entries in document["column_groups"].items()
    }


def _column(entry: Mapping[str, Any], where: str) -> Column:
    if set(entry) != {"name", "type", "description"}:
        raise ContractError(f"{where}: a column needs exactly name, type, description: {entry}")
    return Column(str(entry["name"]), str(entry["type"]), str(entry["description"]))


def _columns(entries: Sequence[Any], groups: Mapping[str, tuple[Column, ...]], where: str):
    columns: list[Column] = []
    for entry in entries:
        if isinstance(entry, Mapping) and set(entry) == {"columns_of"}:
            if entry["columns_of"] not in groups:
                raise ContractError(f"{where}: unknown column group {entry['columns_of']!r}")
            columns.extend(groups[entry["columns_of"]])
        else:
            columns.append(_column(entry, where))
    names = [c.name for c in columns]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ContractError(f"{where}: columns declared twice: {duplicated}")
    return tuple(columns)


def _checks_of(kind: str, argument: Any, severity: str, where: str) -> list[Check]:
    """The :class:`Check` objects of one list entry (``not_null: [a, b]`` is one check)."""
    if kind in TABLE_CHECKS:
        if argument is not None:
            raise ContractError(f"{where}: {kind} takes no argument")
        return [Check(kind, severity)]
    if kind == "freshness":
        return [Check(kind, severity, (str(argument),))]
    if kind in COLUMN_CHECKS:
        if not isinstance(argument, list) or not argument:
            raise ContractError(f"{where}: {kind} needs a list of columns")
        return [Check(kind, severity, tuple(str(c) for c in argument))]
    if kind not in MAPPING_CHECKS:
        raise ContractError(f"{where}: unknown check {kind!r}; known: {list(CHECK_KINDS)}")
    if not isinstance(argument, Mapping) or not argument:
        raise ContractError(f"{where}: {kind} needs a mapping of column to values")
    checks = []
    for column, value in argument.items():
        if kind == "range":
            if not (isinstance(value, list) and len(value) == 2):
                raise ContractError(f"{where}: range of {column} needs [min, max]")
            checks.append(Check(kind, severity, (column,), min_value=value[0], max_value=value[1]))
        elif isinstance(value, str):
            if value not in VOCABULARIES:
                raise ContractError(
                    f"{where}: unknown vocabulary {value!r}; known: {sorted(VOCABULARIES)}"
                )
            checks.append(Check(kind, severity, (column,), vocabulary=value))
        else:
            checks.append(Check(kind, severity, (column,), values=tuple(value)))
    return checks


def _checks(document: Mapping[str, Any], where: str) -> tuple[Check, ...]:
    unknown = set(document) - set(SEVERITIES)
    if unknown:
        raise ContractError(f"{where}: checks are grouped by severity {SEVERITIES}: {unknown}")
    checks: list[Check] = []
    for severity in SEVERITIES:
        for entry in document.get(severity) or []:
            if isinstance(entry, str):
                kind, argument = entry, None
            elif isinstance(entry, Mapping) and len(entry) == 1:
                ((kind, argument),) = entry.items()
            else:
                raise ContractError(f"{where}: a check is a name or one `name: argument`: {entry}")
            checks.extend(_checks_of(kind, argument, severity, where))
    return tuple(checks)


def _contract(name: str, document: Mapping[str, Any], published: bool, groups, where: str):
    unknown = set(document) - _TABLE_FIELDS
    if unknown:
        raise ContractError(f"{where}: unknown fields {sorted(unknown)}")
    contract = TableContract(
        name=name,
        description=str(document["description"]),
        columns=_columns(document["columns"], groups, where),
        key=tuple(document.get("key") or ()),
        checks=_checks(document.get("checks") or {}, where),
        created_empty=bool(document.get("created_empty", False)),
        stored_as=str(document.get("stored_as", "table")),
        published=published,
    )
    names = {c.name for c in contract.columns}
    for column in (*contract.key, *(c for check in contract.checks for c in check.columns)):
        if column not in names:
            raise ContractError(f"{where}: {column!r} is not a column of {name}")
    if any(check.kind == "unique_key" for check in contract.checks) and not contract.key:
        raise ContractError(f"{where}: unique_key needs a key")
    if contract.stored_as not in ("table", "file"):
        raise ContractError(f"{where}: stored_as is table or file, not {contract.stored_as!r}")
    return contract


def load_contracts(directory: Path = CONTRACTS_DIR) -> dict[str, TableContract]:
    """Every contract of the schema files in ``directory``, by ``schema.table``."""
    groups = _column_groups(directory)
    contracts: dict[str, TableContract] = {}
    for path in sorted(directory.glob("*.yaml")):
        if path.name == COLUMN_GROUPS_FILE:
            continue
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        schema, published = document["schema"], bool(document.get("published", False))
        for table, body in document["tables"].items():
            name = f"{schema}.{table}"
            contracts[name] = _contract(name, body, published, groups, f"{path.name}: {table}")
    return contracts


TABLES: dict[str, TableContract] = load_contracts()


def published_tables() -> tuple[str, ...]:
    """The warehouse tables the BI snapshot copies, sorted."""
    return tuple(sorted(n for n, c in TABLES.items() if c.published and c.in_warehouse))
