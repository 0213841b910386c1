-- Customers and net spend per (from label, to label) between the snapshots $from_date and
-- $to_date, for each dimension in $dimensions. The two dates are joined once, by customer;
-- each dimension is then one GROUP BY. A customer without a row at $from_date comes from
-- '(new)'; a label a model left empty is '(none)'.
WITH later AS (
    SELECT customer_id, monetary, value_segment, persona, rfm_segment, churn_risk_band
    FROM history.customer_snapshots
    WHERE snapshot_date = $to_date
), earlier AS (
    SELECT customer_id, monetary, value_segment, persona, rfm_segment, churn_risk_band
    FROM history.customer_snapshots
    WHERE snapshot_date = $from_date
), pairs AS (
    SELECT l.monetary,
           l.monetary - coalesce(e.monetary, 0) AS spent_between,
           e.customer_id IS NULL AS is_new,
           e.value_segment AS from_value_segment, l.value_segment AS to_value_segment,
           e.persona AS from_persona, l.persona AS to_persona,
           e.rfm_segment AS from_rfm_segment, l.rfm_segment AS to_rfm_segment,
           e.churn_risk_band AS from_churn_risk_band, l.churn_risk_band AS to_churn_risk_band
    FROM later l
    LEFT JOIN earlier e USING (customer_id)
), labelled AS (
    SELECT 'value_segment' AS dimension, from_value_segment AS from_label,
           to_value_segment AS to_label, is_new, monetary, spent_between
    FROM pairs WHERE list_contains($dimensions, 'value_segment')
    UNION ALL
    SELECT 'persona', from_persona, to_persona, is_new, monetary, spent_between
    FROM pairs WHERE list_contains($dimensions, 'persona')
    UNION ALL
    SELECT 'rfm_segment', from_rfm_segment, to_rfm_segment, is_new, monetary, spent_between
    FROM pairs WHERE list_contains($dimensions, 'rfm_segment')
    UNION ALL
    SELECT 'churn_risk_band', from_churn_risk_band, to_churn_risk_band, is_new, monetary,
           spent_between
    FROM pairs WHERE list_contains($dimensions, 'churn_risk_band')
), counted AS (
    SELECT dimension,
           CASE WHEN is_new THEN '(new)' ELSE coalesce(from_label, '(none)') END AS from_label,
           coalesce(to_label, '(none)') AS to_label,
           count(*) AS customers,
           round(sum(monetary), 2) AS revenue,
           round(sum(spent_between), 2) AS revenue_between
    FROM labelled
    GROUP BY ALL
)
SELECT dimension,
       $from_date::DATE AS from_date,
       $to_date::DATE AS to_date,
       from_label,
       to_label,
       customers,
       revenue,
       revenue_between,
       round(customers / sum(customers) OVER (PARTITION BY dimension, from_label), 4)
           AS share_of_from
FROM counted
ORDER BY dimension, from_label, to_label
