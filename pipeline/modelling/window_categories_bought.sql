-- Which categories each customer bought in each model window (_model_windows): one row per
-- window and customer who bought any of $categories, one boolean column category_<n> per
-- category ($category_<n>). The braces are the generated category columns, one item per
-- category (window_queries.py): the categories of a customer's lines at one time, then
-- those flags folded over the window.
WITH span AS (
    SELECT min(window_start) AS span_start, max(window_end) AS span_end FROM _model_windows
), bought AS (
    SELECT t.customer_id,
           t.invoice_ts,
           {bought_at_time}
    FROM staging.transactions t
    JOIN features.product_categories c USING (stock_code)
    CROSS JOIN span
    WHERE t.invoice_ts >= span.span_start AND t.invoice_ts < span.span_end
      AND list_contains($categories, c.category)
    GROUP BY ALL
)
SELECT w.window_start,
       b.customer_id,
       {bought_in_window}
FROM bought b
JOIN _model_windows w ON b.invoice_ts >= w.window_start AND b.invoice_ts < w.window_end
GROUP BY ALL
