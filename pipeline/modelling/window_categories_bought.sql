-- The categories of $categories each customer bought in each model window (_model_windows).
WITH span AS (
    SELECT min(window_start) AS span_start, max(window_end) AS span_end FROM _model_windows
), bought AS (
    SELECT DISTINCT t.customer_id, c.category, t.invoice_ts
    FROM staging.transactions t
    JOIN features.product_categories c USING (stock_code)
    CROSS JOIN span
    WHERE t.invoice_ts >= span.span_start AND t.invoice_ts < span.span_end
      AND list_contains($categories, c.category)
)
SELECT DISTINCT w.window_start, b.customer_id, b.category
FROM bought b
JOIN _model_windows w ON b.invoice_ts >= w.window_start AND b.invoice_ts < w.window_end
