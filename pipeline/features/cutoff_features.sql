-- Customer features as of each cutoff from the parts in cutoff_feature_parts/ (see
-- pipeline/features/customer_rfm.py), with RFM scores and the named RFM segment.
WITH measures AS (
    SELECT
        p.as_of,
        p.customer_id,
        date_diff('day', p.last_purchase_ts::DATE, p.as_of::DATE) AS recency_days,
        p.frequency,
        p.gross_spend - coalesce(r.returned_amount, 0) AS monetary,
        date_diff('day', p.first_purchase_ts::DATE, p.as_of::DATE) AS tenure_days,
        p.avg_order_value,
        p.total_units / p.frequency AS avg_basket_quantity,
        coalesce(r.returned_amount, 0) / nullif(p.gross_spend, 0) AS return_rate,
        p.gross_spend,
        coalesce(r.returned_amount, 0) AS returned_amount,
        p.purchase_lines,
        p.avg_units_per_line,
        p.max_units_per_line,
        p.units_per_line_cv,
        p.median_unit_price,
        CASE WHEN p.distinct_products > 0 THEN p.distinct_products END AS distinct_products,
        CASE WHEN p.distinct_categories > 0 THEN p.distinct_categories END AS distinct_categories,
        p.mean_days_between_purchases,
        p.std_days_between_purchases,
        k.country,
        p.first_purchase_ts,
        p.last_purchase_ts
    FROM _features_per_customer p
    LEFT JOIN _features_returned r USING (as_of, customer_id)
    LEFT JOIN _features_country k USING (as_of, customer_id)
), scored AS (
    -- monetary is a float sum whose last bits depend on the order the lines were added
    -- (DuckDB's threads, or other lines of the same total): ordered to a millionth, equal
    -- spends tie and the customer id decides, so scores do not move between runs.
    SELECT *,
        ntile(5) OVER (PARTITION BY as_of ORDER BY recency_days DESC, frequency, customer_id)
            AS r_score,
        ntile(5) OVER (PARTITION BY as_of ORDER BY frequency, round(monetary, 6), customer_id)
            AS f_score,
        ntile(5) OVER (PARTITION BY as_of ORDER BY round(monetary, 6), frequency, customer_id)
            AS m_score
    FROM measures
)
SELECT * EXCLUDE (as_of),
    r_score::VARCHAR || f_score::VARCHAR || m_score::VARCHAR AS rfm_cell,
    CASE
        WHEN r_score = 5 AND f_score >= 4 THEN 'Champions'
        WHEN r_score IN (3, 4) AND f_score >= 4 THEN 'Loyal'
        WHEN r_score >= 4 AND f_score IN (2, 3) THEN 'Potential Loyalists'
        WHEN r_score = 5 AND f_score = 1 THEN 'New'
        WHEN r_score = 4 AND f_score = 1 THEN 'Promising'
        WHEN r_score = 3 AND f_score = 3 THEN 'Need Attention'
        WHEN r_score = 3 AND f_score <= 2 THEN 'About to Sleep'
        WHEN r_score <= 2 AND f_score = 5 THEN 'Cannot Lose'
        WHEN r_score <= 2 AND f_score IN (3, 4) THEN 'At Risk'
        ELSE 'Hibernating'
    END AS rfm_segment,
    as_of
FROM scored
ORDER BY as_of, customer_id
