-- One row per customer with every label and score. LEFT JOINs: a customer the models
-- could not score still appears, with empty scores.
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
    pr.predicted_spend AS expected_spend, pr.clv_12m, pr.next_order_date,
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
