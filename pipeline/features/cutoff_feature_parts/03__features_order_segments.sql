-- Orders per customer and segment, and the states of the days between orders. An order is
-- an invoice (files without invoice numbers count one order per timestamp); its time and
-- segment are its first line's, so it is in every cutoff after that line with the same
-- time, and the gaps between a customer's orders are computed once. (Its value is not
-- needed: the average order value is the exact sum of the lines over the orders.)
WITH orders AS (
    SELECT customer_id,
           min(invoice_ts) AS order_ts,
           min(segment) AS segment
    FROM _features_lines
    GROUP BY customer_id, coalesce(invoice_id, strftime(invoice_ts, '%Y-%m-%d %H:%M:%S'))
), gaps AS (
    SELECT customer_id, segment,
           date_diff('second',
                     lag(order_ts) OVER (PARTITION BY customer_id ORDER BY order_ts),
                     order_ts) / 86400.0 AS gap_days
    FROM orders
)
SELECT customer_id, segment,
       count(*) AS orders,
       avg(gap_days) EXPORT_STATE AS gaps_mean,
       stddev_samp(gap_days) EXPORT_STATE AS gaps_spread
FROM gaps
GROUP BY customer_id, segment
