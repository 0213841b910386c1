-- Categories by number of buyers before $as_of (OTHER and uncategorised lines excluded).
SELECT c.category, count(DISTINCT t.customer_id) AS buyers
FROM staging.transactions t
JOIN features.product_categories c USING (stock_code)
WHERE t.invoice_ts < $as_of AND c.category IS NOT NULL AND c.category <> $other
GROUP BY c.category
HAVING count(DISTINCT t.customer_id) >= $min_buyers
ORDER BY buyers DESC, c.category
LIMIT $limit
