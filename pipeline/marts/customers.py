"""The customer marts: monthly revenue, every label and score per customer with its action,
the action plan, the segment summary and the per-action exports' queries."""

from __future__ import annotations

import duckdb

from pipeline.action_rules import ALL_CUSTOMERS_EXPORT, ActionPlan, action_case_sql, export_name
from pipeline.sql_files import SqlFiles
from pipeline.sql_text import quote_literal

SQL = SqlFiles(__package__)


def build_monthly_revenue(connection: duckdb.DuckDBPyConnection) -> None:
    """marts.monthly_revenue: revenue, orders, customers and newcomers per month."""
    connection.execute(SQL.read("monthly_revenue.sql"))


def build_customer_segments(connection: duckdb.DuckDBPyConnection, plan: ActionPlan) -> None:
    """marts.customer_segments (every label, score and the action) and marts.action_plan
    (the rules with the customers each one assigns)."""
    connection.execute(SQL.read("customer_base.sql"))
    columns = {row[0] for row in connection.execute("DESCRIBE _customer_base").fetchall()}
    case, parameters = action_case_sql(plan, columns)
    rules = [
        {
            "rule_order": index + 1,
            "action": rule.action,
            "channel": rule.channel,
            "priority": rule.priority,
            "condition": rule.describe(),
            "description": rule.description,
        }
        for index, rule in enumerate(plan.all_rules)
    ]
    connection.execute(
        "CREATE OR REPLACE TEMP TABLE _action_rules AS SELECT unnest($rules, recursive := true)",
        {"rules": rules},
    )
    connection.execute(
        f"""
        CREATE OR REPLACE TABLE marts.customer_segments AS
        SELECT b.* EXCLUDE (as_of, rule_order), r.action, r.channel AS action_channel,
               r.priority::BIGINT AS action_priority, b.rule_order::BIGINT AS action_rule,
               b.as_of
        FROM (SELECT *, {case} + 1 AS rule_order FROM _customer_base) b
        JOIN _action_rules r USING (rule_order)
        ORDER BY r.priority, b.expected_spend DESC NULLS LAST, b.customer_id
        """,
        parameters,
    )
    connection.execute(SQL.read("action_plan.sql"))


def build_segment_summary(connection: duckdb.DuckDBPyConnection) -> None:
    """marts.segment_summary: size, revenue share, average R/F/M and risk per segment, for
    every kind of segment (RFM, value, style, persona, value x style, action)."""
    connection.execute(SQL.read("segment_summary.sql"))


def export_queries_by_action(connection: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """One export per action (customers to contact, best prospects first) plus everyone."""
    columns = (
        "customer_id, country, value_segment, purchase_style, persona, rfm_segment, "
        "churn_risk_pct, purchase_probability, expected_spend, top_category, action, "
        "action_channel"
    )
    queries = {ALL_CUSTOMERS_EXPORT: f"SELECT {columns} FROM marts.customer_segments"}
    for (action,) in connection.execute(
        "SELECT DISTINCT action FROM marts.customer_segments ORDER BY action"
    ).fetchall():
        name = export_name(action)
        if name in queries:
            # load_action_plan refuses such rules; this guards a table written otherwise.
            raise ValueError(f"action '{action}' would overwrite the export {name}.csv")
        queries[name] = (
            f"SELECT {columns} FROM marts.customer_segments "
            f"WHERE action = {quote_literal(action)} ORDER BY expected_spend DESC NULLS LAST"
        )
    return queries
