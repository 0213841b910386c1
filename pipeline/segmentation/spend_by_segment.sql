SELECT v.value_segment, count(*) AS customers,
       round(avg(t.spend_observed), 2) AS mean_true_spend,
       round(median(t.spend_observed), 2) AS median_true_spend,
       round(avg(t.future_spend), 2) AS mean_true_future_spend,
       round(avg(t.alive_at_end::INT), 3) AS share_alive_at_end
FROM segments.customer_value v
JOIN read_parquet($truth) t ON t.customer_id::VARCHAR = v.customer_id
GROUP BY v.value_segment
ORDER BY median_true_spend
