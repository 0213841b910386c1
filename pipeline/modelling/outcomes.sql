-- Orders and net spend (purchases minus returns dated in the window) per customer; exact
-- sums, as in the customer features (pipeline/features/).
WITH bought AS (
    SELECT customer_id, count(DISTINCT coalesce(invoice_id, strftime(invoice_ts, '%Y-%m-%d %H:%M:%S'))) AS actual_orders,
           sum(line_amount::DECIMAL(38, 6))::DOUBLE AS gross_spend
    FROM staging.transactions
    WHERE invoice_ts >= $window_start AND invoice_ts < $window_end
    GROUP BY customer_id
), returned AS (
    SELECT customer_id, -sum(line_amount::DECIMAL(38, 6))::DOUBLE AS returned_amount
    FROM staging.returns
    WHERE invoice_ts >= $window_start AND invoice_ts < $window_end
    GROUP BY customer_id
)
SELECT customer_id,
       coalesce(b.actual_orders, 0) AS actual_orders,
       coalesce(b.gross_spend, 0) - coalesce(r.returned_amount, 0) AS actual_spend
FROM bought b
FULL JOIN returned r USING (customer_id)
