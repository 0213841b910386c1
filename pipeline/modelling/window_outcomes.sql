-- Orders and net spend (purchases minus returns dated in the window) per customer in each
-- model window (_model_windows), in one pass: the lines of the windows' span are summed per
-- order and time, and each sum is counted in the windows it falls in (windows overlap when
-- they are closer than the horizon). Exact sums, as in the customer features
-- (pipeline/features/).
WITH span AS (
    SELECT min(window_start) AS span_start, max(window_end) AS span_end FROM _model_windows
), orders AS (
    SELECT t.customer_id,
           coalesce(t.invoice_id, strftime(t.invoice_ts, '%Y-%m-%d %H:%M:%S')) AS order_id,
           t.invoice_ts,
           sum(t.line_amount::DECIMAL(38, 6)) AS amount
    FROM staging.transactions t, span
    WHERE t.invoice_ts >= span.span_start AND t.invoice_ts < span.span_end
    GROUP BY ALL
), returns AS (
    SELECT r.customer_id, r.invoice_ts, sum(r.line_amount::DECIMAL(38, 6)) AS amount
    FROM staging.returns r, span
    WHERE r.invoice_ts >= span.span_start AND r.invoice_ts < span.span_end
    GROUP BY ALL
), bought AS (
    SELECT w.window_start, o.customer_id,
           count(DISTINCT o.order_id) AS actual_orders,
           sum(o.amount)::DOUBLE AS gross_spend
    FROM orders o
    JOIN _model_windows w ON o.invoice_ts >= w.window_start AND o.invoice_ts < w.window_end
    GROUP BY ALL
), returned AS (
    SELECT w.window_start, r.customer_id, -sum(r.amount)::DOUBLE AS returned_amount
    FROM returns r
    JOIN _model_windows w ON r.invoice_ts >= w.window_start AND r.invoice_ts < w.window_end
    GROUP BY ALL
)
SELECT window_start,
       customer_id,
       coalesce(b.actual_orders, 0) AS actual_orders,
       coalesce(b.gross_spend, 0) - coalesce(r.returned_amount, 0) AS actual_spend
FROM bought b
FULL JOIN returned r USING (window_start, customer_id)
