-- The snapshot date is a bound parameter, not a join with a one-row table: with the
-- join, DuckDB built the product-price hash join on the 7 million lines instead of the
-- 3,000 products (10M-row warehouse: 4.7 s -> 1.1 s for this step). The quartiles stay one
-- holistic list-quantile per customer: measured against a (customer, quantity, lines)
-- table with cumulative counts, which groups 7 million lines into ~600,000 rows and sorts
-- them, it costs less (2.2 against 3.8 CPU s).
WITH quantity_lines AS (
    SELECT t.customer_id, t.quantity,
           abs(ln(t.unit_price / p.usual_price)) >= ln($off_price_factor) AS off_price
    FROM staging.transactions t
    LEFT JOIN _style_product_price p USING (stock_code)
    WHERE t.invoice_ts < $as_of AND t.quantity > 0
)
SELECT customer_id,
       count(*) AS quantity_lines,
       quantile_cont(quantity, [0.25, 0.5, 0.75]) AS quartiles,
       count(off_price) AS priced_lines,
       count(*) FILTER (WHERE off_price) AS off_price_lines
FROM quantity_lines
GROUP BY customer_id
