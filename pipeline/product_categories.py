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

from pipeline.sql_text import quote_literal

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


PRODUCT_CATEGORIES_SQL = """
CREATE SCHEMA IF NOT EXISTS features;
CREATE OR REPLACE TABLE features.product_categories AS
WITH descriptions AS (
    SELECT stock_code, description, count(*) AS lines, sum(line_amount) AS revenue
    FROM staging.transactions
    WHERE stock_code IS NOT NULL
    GROUP BY ALL
), products AS (
    -- The most frequent description (as mode(), ignoring missing ones); on equal counts
    -- the first alphabetically, where mode() would take whichever its threads met first.
    SELECT stock_code,
           first(description ORDER BY description IS NULL, lines DESC, description)
               AS description,
           sum(lines)::BIGINT AS lines,
           sum(revenue) AS revenue
    FROM descriptions
    GROUP BY stock_code
), by_keyword AS (
    SELECT p.*, {keyword_case} AS keyword_category
    FROM (SELECT *, upper(coalesce(description, '')) AS text FROM products) p
)
SELECT k.stock_code,
       k.description,
       coalesce(u.category, k.keyword_category, $other) AS category,
       CASE WHEN u.category IS NOT NULL THEN 'user mapping'
            WHEN k.keyword_category IS NOT NULL THEN 'keyword'
            ELSE 'no rule matched' END AS category_source,
       k.lines,
       k.revenue
FROM by_keyword k
LEFT JOIN user_categories u ON u.stock_code = k.stock_code
ORDER BY k.revenue DESC
"""


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
