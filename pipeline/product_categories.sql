-- Revenue is summed as DECIMAL (each line at 1e-6, exactly), as in marts.monthly_revenue: a
-- sum of doubles depends on the order DuckDB's threads add the rows in, and so did this
-- table's last bits and its row order.
CREATE SCHEMA IF NOT EXISTS features;
CREATE OR REPLACE TABLE features.product_categories AS
WITH descriptions AS (
    SELECT stock_code, description, count(*) AS lines,
           sum(line_amount::DECIMAL(38, 6)) AS revenue
    FROM staging.transactions
    WHERE stock_code IS NOT NULL
    GROUP BY ALL
), products AS (
    -- The most frequent description (as mode(), ignoring missing ones); on equal counts
    -- the first alphabetically, where mode() would take whichever its threads met first.
    SELECT stock_code,
           first(description ORDER BY description IS NULL, lines DESC, description)
               AS description,
           sum(lines)::BIGINT AS lines,
           sum(revenue) AS revenue
    FROM descriptions
    GROUP BY stock_code
), by_keyword AS (
    SELECT p.*, {keyword_case} AS keyword_category
    FROM (SELECT *, upper(coalesce(description, '')) AS text FROM products) p
)
SELECT k.stock_code,
       k.description,
       coalesce(u.category, k.keyword_category, $other) AS category,
       CASE WHEN u.category IS NOT NULL THEN 'user mapping'
            WHEN k.keyword_category IS NOT NULL THEN 'keyword'
            ELSE 'no rule matched' END AS category_source,
       k.lines,
       k.revenue::DOUBLE AS revenue
FROM by_keyword k
LEFT JOIN user_categories u ON u.stock_code = k.stock_code
ORDER BY k.revenue DESC, k.stock_code
