"""docs/ARCHITECTURE.md says which asset module builds each table: the page must agree with
the code location, and every path it names must exist."""

from __future__ import annotations

import re
from pathlib import Path

from dagster import load_assets_from_modules

from orchestration import definitions

PROJECT = Path(__file__).resolve().parent.parent
PAGE = PROJECT / "docs" / "ARCHITECTURE.md"
ROW = re.compile(
    r"^\| `(?P<table>[a-z_]+\.[a-z_]+)`[^|]* \| `(?P<module>[^`]+)` \| (?P<code>.+) \|$"
)


def documented() -> dict[str, tuple[str, list[str]]]:
    rows = {}
    for line in PAGE.read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            paths = re.findall(r"`([^`]+)`", match["code"])
            rows[match["table"]] = (match["module"], paths)
    return rows


def built_by() -> dict[str, str]:
    modules = {}
    for module in definitions._ASSET_MODULES:
        path = f"{module.__name__.replace('.', '/')}.py"
        for asset in load_assets_from_modules([module]):
            for key in asset.keys:
                modules[".".join(key.path)] = path
    return modules


def test_the_page_names_the_module_that_builds_every_table():
    page = {table: module for table, (module, _) in documented().items()}
    assert page == built_by()


def test_every_path_on_the_page_exists():
    missing = [
        path
        for _, paths in documented().values()
        for path in paths
        if not (PROJECT / path).exists()
    ]
    assert missing == []
