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
