-- A product's usual price: the median unit price of its lines before the snapshot, for
-- products with at least 3 priced lines. Exactly DuckDB's median (quantile_cont 0.5), taken
-- from one row per (product, price) and its line count: prices repeat, so the median is read
-- off the cumulative counts of ~46,000 rows instead of sorting 7 million values (10M-row
-- warehouse: 0.65 -> 0.33 CPU s). As quantile_cont does, with n lines the median sits at
-- position (n - 1) * 0.5 counted from 0; between two positions it is
-- lo * (1 - d) + hi * d, d the fractional part (DuckDB's interpolation of doubles).
WITH prices AS (
    SELECT t.stock_code, t.unit_price, count(*) AS lines
    FROM staging.transactions t
    WHERE t.invoice_ts < $as_of AND t.stock_code IS NOT NULL AND t.unit_price > 0
    GROUP BY t.stock_code, t.unit_price
),
running AS (
    SELECT
        stock_code,
        unit_price,
        sum(lines) OVER (
            PARTITION BY stock_code ORDER BY unit_price ROWS UNBOUNDED PRECEDING
        ) AS lines_up_to_here,
        sum(lines) OVER (PARTITION BY stock_code) AS priced_lines
    FROM prices
),
middle AS (
    SELECT
        stock_code,
        priced_lines,
        CAST(priced_lines - 1 AS DOUBLE) * 0.5 AS middle_position,
        unit_price,
        lines_up_to_here
    FROM running
),
neighbours AS (
    SELECT
        stock_code,
        min(middle_position) AS middle_position,
        min(unit_price) FILTER (WHERE lines_up_to_here > floor(middle_position)) AS lower_price,
        min(unit_price) FILTER (WHERE lines_up_to_here > ceil(middle_position)) AS upper_price
    FROM middle
    WHERE priced_lines >= 3
    GROUP BY stock_code
)
SELECT
    stock_code,
    CASE
        WHEN floor(middle_position) = ceil(middle_position) THEN lower_price
        ELSE lower_price * (1.0 - (middle_position - floor(middle_position)))
            + upper_price * (middle_position - floor(middle_position))
    END AS usual_price
FROM neighbours
