SELECT t.stock_code, median(t.unit_price) AS usual_price
FROM staging.transactions t, _style_snapshot s
WHERE t.invoice_ts < s.as_of AND t.stock_code IS NOT NULL AND t.unit_price > 0
GROUP BY t.stock_code
HAVING count(*) >= 3
