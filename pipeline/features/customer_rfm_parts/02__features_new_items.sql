-- Per customer and segment, the products and the categories first bought in it: the
-- distinct products before a cutoff are those first bought in an earlier segment.
WITH products AS (
    SELECT customer_id, stock_code, min(segment) AS segment
    FROM _features_lines
    WHERE stock_code IS NOT NULL
    GROUP BY customer_id, stock_code
), categories AS (
    SELECT p.customer_id, c.category, min(p.segment) AS segment
    FROM products p
    JOIN features.product_categories c USING (stock_code)
    WHERE c.category IS NOT NULL
    GROUP BY p.customer_id, c.category
)
SELECT customer_id, segment, sum(products) AS new_products, sum(categories) AS new_categories
FROM (
    SELECT customer_id, segment, 1 AS products, 0 AS categories FROM products
    UNION ALL
    SELECT customer_id, segment, 0 AS products, 1 AS categories FROM categories
)
GROUP BY customer_id, segment
