SELECT
    f.customer_id,
    coalesce(p.quantity_lines, 0) AS quantity_lines,
    p.quartiles[2] AS median_units_per_line,
    p.quartiles[1] AS p25_units_per_line,
    p.quartiles[3] AS p75_units_per_line,
    f.avg_units_per_line,
    f.max_units_per_line,
    f.units_per_line_cv,
    f.median_unit_price,
    coalesce(p.priced_lines, 0) AS priced_lines,
    coalesce(p.off_price_lines, 0) AS off_price_lines,
    coalesce(p.off_price_lines / nullif(p.priced_lines, 0), 0) AS off_price_share,
    coalesce(r.max_returned_units, 0) AS max_returned_units,
    f.as_of
FROM {features} f
LEFT JOIN _style_per_customer p USING (customer_id)
LEFT JOIN _style_returned r USING (customer_id)
ORDER BY f.customer_id
