-- Purchase lines per customer and category, in [$window_start, $window_end).
SELECT t.customer_id, c.category, count(*) AS lines
FROM staging.transactions t
JOIN features.product_categories c USING (stock_code)
WHERE t.invoice_ts >= $window_start AND t.invoice_ts < $window_end
  AND list_contains($categories, c.category)
GROUP BY ALL
