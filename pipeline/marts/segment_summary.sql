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
