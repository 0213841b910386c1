WITH quantity_lines AS (
    SELECT t.customer_id, t.quantity,
           abs(ln(t.unit_price / p.usual_price)) >= ln($off_price_factor) AS off_price
    FROM staging.transactions t
    CROSS JOIN _style_snapshot s
    LEFT JOIN _style_product_price p USING (stock_code)
    WHERE t.invoice_ts < s.as_of AND t.quantity > 0
)
SELECT customer_id,
       count(*) AS quantity_lines,
       quantile_cont(quantity, [0.25, 0.5, 0.75]) AS quartiles,
       count(off_price) AS priced_lines,
       count(*) FILTER (WHERE off_price) AS off_price_lines
FROM quantity_lines
GROUP BY customer_id
