-- Purchase lines per customer and segment: exact sums and counts (an average of DECIMALs is
-- its exact sum, cast to DOUBLE, over the count: what DuckDB's avg returns), the states of
-- the floating-point mean and spread of the units (EXPORT_STATE, combined over the segments
-- before each cutoff in _features_per_customer) and the unit prices, for the median.
SELECT
    customer_id,
    segment,
    min(invoice_ts) AS first_purchase_ts,
    max(invoice_ts) AS last_purchase_ts,
    sum(line_amount::DECIMAL(38, 6)) AS gross_spend,
    count(*) AS purchase_lines,
    sum(quantity::DECIMAL(38, 6)) AS total_units,
    count(quantity) AS lines_with_units,
    max(quantity) AS max_units_per_line,
    avg(quantity) EXPORT_STATE AS units_mean,
    stddev_pop(quantity) EXPORT_STATE AS units_spread,
    list(unit_price) AS unit_prices
FROM _features_lines
GROUP BY customer_id, segment
