-- Per customer and segment, the products and the categories first bought in it: the
-- distinct products before a cutoff are those first bought in an earlier segment. A
-- category first appears where one of its products does.
WITH products AS MATERIALIZED (
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
), new_categories AS (
    SELECT customer_id, segment, count(*) AS new_categories
    FROM categories
    GROUP BY customer_id, segment
)
SELECT p.customer_id, p.segment, p.new_products, coalesce(c.new_categories, 0) AS new_categories
FROM (SELECT customer_id, segment, count(*) AS new_products
      FROM products
      GROUP BY customer_id, segment) p
LEFT JOIN new_categories c USING (customer_id, segment)
