"""Business-facing marts built in DuckDB SQL (no Dagster import)."""

from __future__ import annotations

import duckdb

from pipeline.action_rules import ALL_CUSTOMERS_EXPORT, ActionPlan, action_case_sql, export_name
from pipeline.sql_text import quote_literal

MONTHLY_REVENUE_SQL = """
CREATE SCHEMA IF NOT EXISTS marts;
CREATE OR REPLACE TABLE marts.monthly_revenue AS
WITH first_purchase AS (
    SELECT customer_id, date_trunc('month', min(invoice_ts)) AS first_month
    FROM staging.transactions GROUP BY customer_id
), sales AS (
    SELECT date_trunc('month', invoice_ts)::DATE AS month,
           sum(line_amount) AS revenue,
           count(DISTINCT coalesce(invoice_id, customer_id || strftime(invoice_ts, '%c')))
               AS orders,
           count(DISTINCT customer_id) AS customers
    FROM staging.transactions GROUP BY ALL
), newcomers AS (
    SELECT first_month::DATE AS month, count(*) AS new_customers
    FROM first_purchase GROUP BY ALL
), returned AS (
    SELECT date_trunc('month', invoice_ts)::DATE AS month, -sum(line_amount) AS returns_amount
    FROM staging.returns GROUP BY ALL
)
SELECT s.month,
       year(s.month) AS year,
       month(s.month) AS month_of_year,
       round(s.revenue, 2) AS revenue,
       round(coalesce(r.returns_amount, 0), 2) AS returns_amount,
       round(s.revenue - coalesce(r.returns_amount, 0), 2) AS net_revenue,
       s.orders,
       s.customers,
       coalesce(n.new_customers, 0) AS new_customers,
       round(s.revenue / s.orders, 2) AS avg_order_value,
       round(s.revenue / lag(s.revenue, 12) OVER (ORDER BY s.month) - 1, 4) AS revenue_yoy_growth,
       round(s.revenue / avg(s.revenue) OVER (), 4) AS seasonality_index
FROM sales s
LEFT JOIN newcomers n USING (month)
LEFT JOIN returned r USING (month)
ORDER BY s.month
"""


def build_monthly_revenue(connection: duckdb.DuckDBPyConnection) -> None:
    """marts.monthly_revenue: revenue, orders, customers and newcomers per month."""
    connection.execute(MONTHLY_REVENUE_SQL)


# One row per customer with every label and score. LEFT JOINs: a customer the models could
# not score still appears, with empty scores.
CUSTOMER_BASE_SQL = """
CREATE OR REPLACE TEMP TABLE _customer_base AS
WITH top_recommendation AS (
    SELECT customer_id, category AS top_category, probability AS top_category_probability
    FROM marts.product_recommendations
    WHERE recommendation_rank = 1
)
SELECT
    f.customer_id, f.country, f.recency_days, f.frequency, f.monetary, f.tenure_days,
    f.avg_order_value, f.r_score, f.f_score, f.m_score, f.rfm_segment,
    v.value_segment, v.value_score,
    s.purchase_style, s.style_reason, s.value_style_label,
    p.persona,
    c.churn_probability, c.churn_risk_pct, c.churn_risk_band,
    pr.purchase_probability, pr.propensity_decile, pr.expected_orders,
    pr.predicted_spend AS expected_spend,
    u.performance, u.shortfall,
    pr.top_reasons AS propensity_reasons,
    c.top_reasons AS churn_reasons,
    t.top_category, t.top_category_probability,
    f.as_of
FROM features.customer_rfm f
LEFT JOIN segments.customer_value v USING (customer_id)
LEFT JOIN segments.purchase_style s USING (customer_id)
LEFT JOIN segments.personas p USING (customer_id)
LEFT JOIN scores.churn c USING (customer_id)
LEFT JOIN scores.propensity pr USING (customer_id)
LEFT JOIN marts.underperformers u USING (customer_id)
LEFT JOIN top_recommendation t USING (customer_id)
"""

SEGMENT_SUMMARY_SQL = """
CREATE OR REPLACE TABLE marts.segment_summary AS
WITH long AS (
    UNPIVOT (
        SELECT customer_id, monetary, recency_days, frequency, churn_risk_pct,
               purchase_probability, expected_spend,
               rfm_segment, value_segment, purchase_style, persona, value_style_label, action
        FROM marts.customer_segments
    )
    ON rfm_segment, value_segment, purchase_style, persona, value_style_label, action
    INTO NAME segment_type VALUE segment
)
SELECT segment_type,
       segment,
       count(*) AS customers,
       round(sum(monetary), 2) AS revenue,
       round(sum(monetary) / sum(sum(monetary)) OVER (PARTITION BY segment_type), 4)
           AS revenue_share,
       round(avg(recency_days), 1) AS avg_recency_days,
       round(avg(frequency), 2) AS avg_frequency,
       round(avg(monetary), 2) AS avg_monetary,
       round(avg(churn_risk_pct), 1) AS avg_churn_risk_pct,
       round(avg(purchase_probability), 4) AS avg_purchase_probability,
       round(sum(expected_spend), 2) AS expected_spend
FROM long
GROUP BY segment_type, segment
ORDER BY segment_type, revenue DESC
"""


def build_customer_segments(connection: duckdb.DuckDBPyConnection, plan: ActionPlan) -> None:
    """marts.customer_segments (every label, score and the action) and marts.action_plan
    (the rules with the customers each one assigns)."""
    connection.execute(CUSTOMER_BASE_SQL)
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
    connection.execute(
        """
        CREATE OR REPLACE TABLE marts.action_plan AS
        SELECT r.rule_order::BIGINT AS rule_order, r.action, r.channel,
               r.priority::BIGINT AS priority, r.condition, r.description,
               count(c.customer_id) AS customers,
               round(100.0 * count(c.customer_id)
                     / (SELECT count(*) FROM marts.customer_segments), 2) AS customers_pct,
               round(sum(c.expected_spend), 2) AS expected_spend,
               round(avg(c.churn_risk_pct), 1) AS avg_churn_risk_pct,
               list(c.customer_id ORDER BY c.expected_spend DESC NULLS LAST)[1:5]
                   AS example_customers
        FROM _action_rules r
        LEFT JOIN marts.customer_segments c ON c.action_rule = r.rule_order
        GROUP BY ALL
        ORDER BY rule_order
        """
    )


def build_segment_summary(connection: duckdb.DuckDBPyConnection) -> None:
    """marts.segment_summary: size, revenue share, average R/F/M and risk per segment, for
    every kind of segment (RFM, value, style, persona, value x style, action)."""
    connection.execute(SEGMENT_SUMMARY_SQL)


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
