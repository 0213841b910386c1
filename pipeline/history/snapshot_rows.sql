-- One snapshot's rows, from the frames the pipeline's own functions computed for the date:
-- _history_features (customer_features), _history_labels (assign_segments with the
-- champions), _history_churn and _history_propensity (score_frame with the champions).
-- The action is added by the caller from the action plan.
CREATE OR REPLACE TEMP TABLE _history_rows AS
SELECT
    $snapshot_date::DATE AS snapshot_date,
    f.customer_id,
    f.country,
    f.recency_days,
    f.frequency,
    f.monetary,
    f.tenure_days,
    f.avg_order_value,
    f.return_rate,
    f.r_score,
    f.f_score,
    f.m_score,
    f.rfm_segment,
    l.value_segment,
    l.value_score,
    l.purchase_style,
    l.value_style_label,
    l.persona,
    c.churn_probability,
    c.churn_risk_pct,
    c.churn_risk_band,
    p.purchase_probability,
    p.propensity_decile,
    p.expected_orders,
    p.predicted_spend AS expected_spend,
    f.as_of AS features_as_of,
    $horizon_days::BIGINT AS horizon_days,
    $value_model_version AS value_model_version,
    $style_model_version AS style_model_version,
    $persona_model_version AS persona_model_version,
    $churn_model_version AS churn_model_version,
    $propensity_model_version AS propensity_model_version,
    $computed_at::TIMESTAMP AS computed_at
FROM _history_features f
LEFT JOIN _history_labels l USING (customer_id)
LEFT JOIN _history_churn c USING (customer_id)
LEFT JOIN _history_propensity p USING (customer_id)
