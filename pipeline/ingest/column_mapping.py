"""Map the columns of an incoming file to the canonical transaction schema.

Built-in aliases cover the UCI Online Retail (InvoiceNo, UnitPrice, CustomerID) and Online
Retail II (Invoice, Price, Customer ID) layouts and common variants. Any other layout is
described in a YAML file (``DATA_DIR/column_mappings.yaml`` or ``$COLUMN_MAPPINGS``)::

    layouts:
      - name: cdnow                 # a label used in messages
        files: "CDNOW_*.txt"        # glob matched against the file name
        delimiter: whitespace       # any single character, "tab", or "whitespace"
        header: false               # without a header, columns are named by 1-based position
        columns:                    # canonical name: source column name or position
          customer_id: 1
          invoice_ts: 2
          quantity: 3
          line_amount: 4
        date_format: "%Y%m%d"       # optional strptime format tried before the defaults
        day_first: false            # read 01/02/2011 as 1 February (default: month first)
        decimal: "."                # "," for files that write 1,50 for one and a half
        encoding: auto              # auto (detected), or utf-8, cp1252, latin-1, utf-16, ...
        sheet: null                 # Excel: only this sheet (default: every sheet)
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

CANONICAL_COLUMNS: tuple[str, ...] = (
    "invoice_id",
    "stock_code",
    "description",
    "quantity",
    "invoice_ts",
    "unit_price",
    "customer_id",
    "country",
    "line_amount",
)

# Normalised header (lower case, letters and digits only) -> canonical column.
BUILTIN_ALIASES: dict[str, str] = {
    "invoiceno": "invoice_id",
    "invoice": "invoice_id",
    "invoiceid": "invoice_id",
    "invoicenumber": "invoice_id",
    "orderid": "invoice_id",
    "orderno": "invoice_id",
    "ordernumber": "invoice_id",
    "stockcode": "stock_code",
    "sku": "stock_code",
    "productid": "stock_code",
    "productcode": "stock_code",
    "itemcode": "stock_code",
    "description": "description",
    "productname": "description",
    "itemdescription": "description",
    "quantity": "quantity",
    "qty": "quantity",
    "units": "quantity",
    "invoicedate": "invoice_ts",
    "invoicets": "invoice_ts",
    "orderdate": "invoice_ts",
    "transactiondate": "invoice_ts",
    "date": "invoice_ts",
    "timestamp": "invoice_ts",
    "unitprice": "unit_price",
    "price": "unit_price",
    "customerid": "customer_id",
    "customer": "customer_id",
    "customerno": "customer_id",
    "clientid": "customer_id",
    "country": "country",
    "lineamount": "line_amount",
    "amount": "line_amount",
    "sales": "line_amount",
    "revenue": "line_amount",
    "total": "line_amount",
}

VALID_DELIMITERS = {"tab": "\t", "whitespace": "whitespace"}
VALID_ENCODINGS = {
    "auto",
    "utf-8",
    "utf-8-sig",
    "latin-1",
    "cp1252",
    "utf-16",
    "utf-16-le",
    "utf-16-be",
    "utf-32",
}


class MappingError(ValueError):
    """The mapping file, or a file's columns under it, cannot be used."""


@dataclass(frozen=True)
class Layout:
    """How to read one kind of file. The default layout relies on the built-in aliases."""

    name: str = "auto"
    files: str = "*"
    delimiter: str | None = None  # None: let DuckDB's sniffer decide
    header: bool = True
    columns: dict[str, str | int] = field(default_factory=dict)
    date_format: str | None = None
    day_first: bool = False
    decimal: str = "."
    encoding: str = "auto"
    sheet: str | None = None

    def matches(self, file_name: str) -> bool:
        return fnmatch.fnmatch(file_name, self.files)


DEFAULT_LAYOUT = Layout()


def normalise_header(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def _parse_layout(entry: object, position: int, source: Path) -> Layout:
    where = f"{source}: layouts[{position}]"
    if not isinstance(entry, dict):
        raise MappingError(f"{where} must be a mapping, got {type(entry).__name__}")
    unknown = set(entry) - set(Layout.__dataclass_fields__)
    if unknown:
        raise MappingError(f"{where} has unknown keys: {', '.join(sorted(unknown))}")
    columns = entry.get("columns") or {}
    if not isinstance(columns, dict):
        raise MappingError(f"{where}.columns must map canonical names to source columns")
    bad_targets = set(columns) - set(CANONICAL_COLUMNS)
    if bad_targets:
        raise MappingError(
            f"{where}.columns names unknown canonical columns: {', '.join(sorted(bad_targets))}; "
            f"expected some of {', '.join(CANONICAL_COLUMNS)}"
        )
    delimiter = entry.get("delimiter")
    if delimiter is not None:
        delimiter = VALID_DELIMITERS.get(delimiter, delimiter)
        if delimiter != "whitespace" and len(delimiter) != 1:
            raise MappingError(f"{where}.delimiter must be one character, 'tab' or 'whitespace'")
    encoding = entry.get("encoding", "auto")
    if encoding not in VALID_ENCODINGS:
        raise MappingError(f"{where}.encoding must be one of {sorted(VALID_ENCODINGS)}")
    decimal = entry.get("decimal", ".")
    if decimal not in {".", ","}:
        raise MappingError(f"{where}.decimal must be '.' or ','")
    return Layout(
        name=str(entry.get("name", f"layout {position}")),
        files=str(entry.get("files", "*")),
        delimiter=delimiter,
        header=bool(entry.get("header", True)),
        columns=dict(columns),
        date_format=entry.get("date_format"),
        day_first=bool(entry.get("day_first", False)),
        decimal=decimal,
        encoding=encoding,
        sheet=entry.get("sheet"),
    )


def load_layouts(path: Path) -> list[Layout]:
    """User layouts from ``path``; an absent file means none."""
    if not path.exists():
        return []
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise MappingError(f"{path} is not valid YAML: {error}") from error
    entries = document.get("layouts", []) if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise MappingError(f"{path} must hold a top-level 'layouts:' list")
    return [_parse_layout(entry, i, path) for i, entry in enumerate(entries)]


def layout_for(file_name: str, layouts: list[Layout]) -> Layout:
    """The first user layout whose glob matches, else the built-in one."""
    for layout in layouts:
        if layout.matches(file_name):
            return layout
    return DEFAULT_LAYOUT


def resolve_columns(source_columns: list[str], layout: Layout) -> dict[str, str]:
    """Canonical column -> source column name, for the columns this file has.

    Explicit layout columns win; remaining canonical columns are matched by alias.
    Positions (1-based integers) refer to the file's column order.
    """
    resolved: dict[str, str] = {}
    for canonical, source in layout.columns.items():
        if isinstance(source, int):
            if not 1 <= source <= len(source_columns):
                raise MappingError(
                    f"layout '{layout.name}' maps {canonical} to column {source}, "
                    f"but the file has {len(source_columns)} columns"
                )
            resolved[canonical] = source_columns[source - 1]
        elif source in source_columns:
            resolved[canonical] = source
        else:
            raise MappingError(
                f"layout '{layout.name}' maps {canonical} to column {source!r}, which the file "
                f"does not have (it has: {', '.join(source_columns)})"
            )
    taken = set(resolved.values())
    for column in source_columns:
        canonical = BUILTIN_ALIASES.get(normalise_header(column))
        if canonical and canonical not in resolved and column not in taken:
            resolved[canonical] = column
            taken.add(column)
    return resolved


def missing_required(resolved: dict[str, str]) -> list[str]:
    """Required canonical columns that are absent: customer_id, invoice_ts and an amount."""
    missing = [name for name in ("customer_id", "invoice_ts") if name not in resolved]
    if "line_amount" not in resolved and not {"quantity", "unit_price"} <= set(resolved):
        missing.append("line_amount (or quantity and unit_price)")
    return missing
