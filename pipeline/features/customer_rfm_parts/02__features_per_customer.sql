SELECT
    customer_id,
    min(invoice_ts) AS first_purchase_ts,
    max(invoice_ts) AS last_purchase_ts,
    sum(line_amount::DECIMAL(38, 6))::DOUBLE AS gross_spend,
    count(*) AS purchase_lines,
    sum(quantity::DECIMAL(38, 6))::DOUBLE AS total_units,
    -- From the exact sum, rounded like avg_order_value (the same on DuckDB and Spark).
    round(sum(quantity::DECIMAL(38, 6))::DOUBLE / count(quantity), 9) AS avg_units_per_line,
    max(quantity) AS max_units_per_line,
    -- Rounded: a floating-point aggregate's last bits depend on how DuckDB's threads split
    -- the customer's lines, and those bits moved the gradient-boosted models' bins.
    round(coalesce(stddev_pop(quantity) / nullif(avg(quantity), 0), 0), 9) AS units_per_line_cv,
    -- Rounded: DuckDB and Spark interpolate between the two middle prices in other ways.
    round(median(unit_price), 9) AS median_unit_price,
    count(DISTINCT stock_code) AS distinct_products,
    count(DISTINCT c.category) AS distinct_categories
FROM staging.transactions t
LEFT JOIN features.product_categories c USING (stock_code)
WHERE t.invoice_ts < $as_of
GROUP BY customer_id
