"""The domain core in pipeline/ imports no Dagster and nothing of the layers above it
(assets/, resources/, orchestration/), so it can be used from a notebook or a script and is
the bottom of the import graph."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PIPELINE = Path(__file__).resolve().parent.parent / "pipeline"
FORBIDDEN = ("dagster", "assets", "resources", "orchestration")


def _top_level_names(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, imported module) for every import in ``tree``, nested ones included."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def _forbidden(module: str) -> bool:
    top = module.split(".")[0]
    return top in FORBIDDEN or top.startswith("dagster_")


def forbidden_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [
        f"{path.name}:{line} imports {name}"
        for line, name in _top_level_names(tree)
        if _forbidden(name)
    ]


MODULES = sorted(PIPELINE.rglob("*.py"))


def test_the_walk_sees_every_pipeline_package():
    packages = {path.parent.name for path in MODULES}
    assert {"pipeline", "modelling", "segmentation"} <= packages
    assert len(MODULES) > 30


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PIPELINE)))
def test_pipeline_module_imports_no_dagster_nor_upper_layers(path):
    assert forbidden_imports(path) == []


@pytest.mark.parametrize(
    "source",
    [
        "import dagster",
        "from dagster import asset",
        "import dagster_graphql as g",
        "from assets.common import table_key",
        "def f():\n    from resources.warehouse import DuckDBWarehouse",
        "from orchestration.definitions import defs",
    ],
)
def test_the_walk_catches_each_kind_of_import(tmp_path, source):
    module = tmp_path / "bad.py"
    module.write_text(source + "\n")
    assert len(forbidden_imports(module)) == 1


def test_the_walk_allows_the_core_and_libraries(tmp_path):
    module = tmp_path / "good.py"
    module.write_text("import duckdb\nfrom pipeline.settings import Settings\nfrom . import x\n")
    assert forbidden_imports(module) == []
