WITH gaps AS (
    SELECT customer_id,
           date_diff('second',
                     lag(order_ts) OVER (PARTITION BY customer_id ORDER BY order_ts),
                     order_ts) / 86400.0 AS gap_days
    FROM _features_orders
)
SELECT o.customer_id, o.frequency, o.avg_order_value,
       g.mean_days_between_purchases, g.std_days_between_purchases
-- The average from the exact sum, as a DOUBLE rounded to 1e-9: Spark's avg() of a DECIMAL
-- keeps 10 decimals, DuckDB's is a DOUBLE, and those last bits moved the models' scores.
FROM (SELECT customer_id, count(*) AS frequency,
             round(sum(order_amount)::DOUBLE / count(order_amount), 9) AS avg_order_value
      FROM _features_orders GROUP BY customer_id) o
-- Rounded like units_per_line_cv: floating-point aggregates, their last bits by thread order.
LEFT JOIN (SELECT customer_id, round(avg(gap_days), 9) AS mean_days_between_purchases,
                  round(stddev_samp(gap_days), 9) AS std_days_between_purchases
           FROM gaps WHERE gap_days IS NOT NULL GROUP BY customer_id) g
    USING (customer_id)
