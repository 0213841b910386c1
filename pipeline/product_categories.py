"""Product categories, derived from descriptions by keyword or given by the user.

A category is what the product-propensity model predicts and what recommendations name.
The default rules (``product_categories.yaml`` beside this module) match whole words in the
description, first rule first; a user file ``DATA_DIR/product_categories.csv`` with columns
``stock_code,category`` overrides them for the codes it lists. Products matching no rule
are ``OTHER``; lines without a stock code or description get no category.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import yaml

from pipeline.sql_files import SqlFiles
from pipeline.sql_text import quote_literal

SQL = SqlFiles(__package__)

DEFAULT_RULES_PATH = Path(__file__).with_name("product_categories.yaml")
OTHER = "OTHER"


@dataclass(frozen=True)
class CategoryRule:
    category: str
    pattern: str  # DuckDB (RE2) regular expression over the upper-cased description


def load_rules(path: Path = DEFAULT_RULES_PATH) -> list[CategoryRule]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    rules = []
    for entry in document["categories"]:
        words = "|".join(entry["keywords"])
        rules.append(CategoryRule(entry["name"], rf"\b({words})\b"))
    return rules


PRODUCT_CATEGORIES_SQL = SQL.read("product_categories.sql")


def build_product_categories(
    connection: duckdb.DuckDBPyConnection, user_mapping: Path | None, rules: list[CategoryRule]
) -> None:
    """Write features.product_categories: one row per stock code with its category."""
    if user_mapping is not None and user_mapping.exists():
        connection.execute(
            """
            CREATE OR REPLACE TEMP TABLE user_categories AS
            SELECT upper(trim(CAST(stock_code AS VARCHAR))) AS stock_code,
                   upper(trim(CAST(category AS VARCHAR))) AS category
            FROM read_csv($path, all_varchar := true, header := true)
            WHERE stock_code IS NOT NULL AND category IS NOT NULL
            """,
            {"path": str(user_mapping)},
        )
    else:
        connection.execute(
            "CREATE OR REPLACE TEMP TABLE user_categories (stock_code VARCHAR, category VARCHAR)"
        )
    connection.execute(
        PRODUCT_CATEGORIES_SQL.format(keyword_case=keyword_case(rules)), {"other": OTHER}
    )


def keyword_case(rules: list[CategoryRule], text: str = "text") -> str:
    """The first rule whose pattern matches ``text``, as a CASE of literal patterns: DuckDB
    compiles a literal pattern once per query, a pattern taken from a list once per row
    and rule."""
    if not rules:
        return "NULL::VARCHAR"
    branches = " ".join(
        f"WHEN regexp_matches({text}, {quote_literal(r.pattern)}) THEN {quote_literal(r.category)}"
        for r in rules
    )
    return f"CASE {branches} END"
