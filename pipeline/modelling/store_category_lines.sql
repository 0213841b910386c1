-- Store-wide lines per category in [$window_start, $window_end), for the seasonal index.
SELECT c.category, count(*) AS lines
FROM staging.transactions t
JOIN features.product_categories c USING (stock_code)
WHERE t.invoice_ts >= $window_start AND t.invoice_ts < $window_end
  AND c.category IS NOT NULL AND c.category <> $other
GROUP BY c.category
