-- One JSON document per customer: what GET /customers/{id} answers, from the BI snapshot.
WITH products AS (
    SELECT
        customer_id,
        list(
            struct_pack(category, probability, category_rank, bought_before)
            ORDER BY category_rank
        ) AS categories
    FROM scores.product_propensity
    GROUP BY customer_id
),

recommendations AS (
    SELECT
        customer_id,
        list(
            struct_pack(category, probability, recommendation_rank, bought_before)
            ORDER BY recommendation_rank
        ) AS recommended
    FROM marts.product_recommendations
    GROUP BY customer_id
),

product_model AS (
    SELECT
        any_value(model_name) AS model_name,
        any_value(model_version) AS model_version,
        (SELECT any_value(threshold) FROM marts.product_recommendations) AS threshold
    FROM scores.product_propensity
)

SELECT
    segment.customer_id,
    to_json(struct_pack(
        customer_id := segment.customer_id,
        features := rfm,
        segments := struct_pack(
            value_segment := segment.value_segment,
            value_score := segment.value_score,
            purchase_style := segment.purchase_style,
            style_reason := segment.style_reason,
            value_style_label := segment.value_style_label,
            persona := segment.persona,
            rfm_segment := segment.rfm_segment,
            rfm_cell := rfm.rfm_cell
        ),
        churn := struct_pack(
            churn_probability := churn.churn_probability,
            churn_risk_pct := churn.churn_risk_pct,
            churn_risk_band := churn.churn_risk_band,
            reasons := churn.reasons
        ),
        propensity := struct_pack(
            purchase_probability := propensity.purchase_probability,
            propensity_decile := propensity.propensity_decile,
            expected_orders := propensity.expected_orders,
            expected_spend := propensity.predicted_spend,
            expected_order_value := propensity.expected_order_value,
            clv_12m := propensity.clv_12m,
            next_order_date := propensity.next_order_date,
            horizon_days := propensity.horizon_days,
            horizon_end := propensity.horizon_end,
            reasons := propensity.reasons
        ),
        action := struct_pack(
            action := segment.action,
            channel := segment.action_channel,
            priority := segment.action_priority,
            rule := segment.action_rule
        ),
        products := struct_pack(
            threshold := product_model.threshold,
            categories := coalesce(products.categories, []),
            recommendations := coalesce(recommendations.recommended, [])
        ),
        models := struct_pack(
            churn := struct_pack(name := churn.model_name, version := churn.model_version),
            propensity := struct_pack(
                name := propensity.model_name,
                version := propensity.model_version,
                kind := propensity.model_kind
            ),
            product_propensity := struct_pack(
                name := product_model.model_name, version := product_model.model_version
            ),
            value_segment := struct_pack(version := value_model.model_version),
            persona := struct_pack(version := persona_model.model_version),
            purchase_style := struct_pack(version := style_model.model_version)
        ),
        features_as_of := segment.as_of,
        snapshot_published_at := $published_at::TIMESTAMP
    ))::VARCHAR AS profile
FROM marts.customer_segments AS segment
LEFT JOIN features.customer_rfm AS rfm USING (customer_id)
LEFT JOIN scores.churn AS churn USING (customer_id)
LEFT JOIN scores.propensity AS propensity USING (customer_id)
LEFT JOIN segments.customer_value AS value_model USING (customer_id)
LEFT JOIN segments.personas AS persona_model USING (customer_id)
LEFT JOIN segments.purchase_style AS style_model USING (customer_id)
LEFT JOIN products USING (customer_id)
LEFT JOIN recommendations USING (customer_id)
CROSS JOIN product_model
