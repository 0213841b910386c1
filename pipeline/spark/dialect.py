"""The transaction-level DuckDB SQL, for Spark: SQLGlot's transpiler plus the rewrites it
does not make on its own.

One source: the ``.sql`` files and the cleaning rules are written for DuckDB and run there by
default; :func:`to_spark` turns a SELECT of theirs into Spark SQL. SQLGlot translates the
functions whose names or argument orders differ (``date_diff``, ``strftime``,
``starts_with``, ``list_contains``, ``median``, list indexes from 1 to 0, ``$parameters``
to ``:parameters``). What it leaves, and what would run but answer differently, is
rewritten here on the parsed tree:

| DuckDB                        | Spark                             | why                     |
|-------------------------------|-----------------------------------|-------------------------|
| ``schema.table``              | temp view ``schema__table``       | tables live in the lake |
| ``quantile_cont(x, [a, b])``  | ``percentile(x, array(a, b))``    | no list quantile        |
| ``regexp_replace(s, p, '\\1')`` | ``regexp_replace(s, p, '$1')``  | ``\\1`` stays as text   |
| ``0.5`` (a literal)           | ``CAST(0.5 AS DOUBLE)``           | Spark reads a DECIMAL   |
| ``hash(a, b)``                | ``xxhash64(a, b)``                | ``hash()`` is 32-bit    |

``rowid`` needs no rewrite: the lake's copy of ``raw.transactions`` carries DuckDB's rowid
as a column of that name (see :mod:`pipeline.spark.lake`). Statements that create tables
are not transpiled: the Spark runner writes each SELECT's result to the lake itself.
"""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp

VIEW_SEPARATOR = "__"
_BACK_REFERENCE = re.compile(r"\\(\d)")


def view_name(table: str) -> str:
    """``staging.transactions`` -> ``staging__transactions``: the temp view of a lake table."""
    return table.replace(".", VIEW_SEPARATOR)


def _table_as_view(node: exp.Table) -> exp.Expression:
    if not node.args.get("db"):
        return node
    view = node.copy()
    view.set("this", exp.to_identifier(f"{node.db}{VIEW_SEPARATOR}{node.name}"))
    view.set("db", None)
    return view


def _quantiles_as_percentile(node: exp.Expression) -> exp.Expression:
    quantiles = node.args.get("quantile") or node.expression
    if not isinstance(quantiles, exp.Array):
        return node
    return exp.Anonymous(
        this="percentile",
        expressions=[
            node.this.copy(),
            exp.Array(expressions=[q.copy() for q in quantiles.expressions]),
        ],
    )


def _replacement_with_dollars(node: exp.RegexpReplace) -> exp.Expression:
    replacement = node.args.get("replacement")
    if isinstance(replacement, exp.Literal) and replacement.is_string:
        text = _BACK_REFERENCE.sub(r"$\1", replacement.this)
        node.set("replacement", exp.Literal.string(text))
    return node


def _decimal_as_double(node: exp.Literal) -> exp.Expression:
    if node.is_string or not re.search(r"[.eE]", node.this):
        return node
    return exp.Cast(this=node.copy(), to=exp.DataType.build("DOUBLE"))


def _rewrite(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Table):
        return _table_as_view(node)
    if isinstance(node, exp.Quantile | exp.PercentileCont) or (
        isinstance(node, exp.Anonymous) and node.name.lower() == "quantile_cont"
    ):
        return _quantiles_as_percentile(node)
    if isinstance(node, exp.RegexpReplace):
        return _replacement_with_dollars(node)
    if isinstance(node, exp.Literal):
        return _decimal_as_double(node)
    if isinstance(node, exp.Anonymous) and node.name.lower() == "hash":
        return exp.Anonymous(this="xxhash64", expressions=[e.copy() for e in node.expressions])
    return node


def to_spark(sql: str) -> str:
    """One DuckDB statement (a SELECT) as Spark SQL."""
    statements = sqlglot.parse(sql, read="duckdb")
    if len(statements) != 1 or statements[0] is None:
        raise ValueError(f"expected one statement, got {len(statements)}: {sql.strip()[:80]}")
    return statements[0].transform(_rewrite).sql(dialect="spark")
