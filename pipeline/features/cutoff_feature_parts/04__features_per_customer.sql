-- Per customer and cutoff, the measures of the lines and orders before the cutoff. Each
-- customer-segment row gets the running sums and states up to its segment, and its measures
-- stand for the cutoffs after it, up to the customer's next segment with lines (last_cutoff).
WITH running AS (
    SELECT
        s.customer_id,
        s.segment,
        coalesce(lead(s.segment) OVER by_segment,
                 (SELECT max(cutoff_index) FROM _features_cutoffs)) AS last_cutoff,
        min(s.first_purchase_ts) OVER so_far AS first_purchase_ts,
        max(s.last_purchase_ts) OVER so_far AS last_purchase_ts,
        sum(s.gross_spend) OVER so_far AS gross_spend,
        sum(s.purchase_lines) OVER so_far AS purchase_lines,
        sum(s.total_units) OVER so_far AS total_units,
        sum(s.lines_with_units) OVER so_far AS lines_with_units,
        max(s.max_units_per_line) OVER so_far AS max_units_per_line,
        list(s.units_mean) OVER so_far AS units_mean,
        list(s.units_spread) OVER so_far AS units_spread,
        sum(coalesce(n.new_products, 0)) OVER so_far AS distinct_products,
        sum(coalesce(n.new_categories, 0)) OVER so_far AS distinct_categories,
        sum(coalesce(o.orders, 0)) OVER so_far AS frequency,
        -- A segment with lines but no new order (an invoice that began before the cutoff
        -- continues after it) has no gap states.
        list(o.gaps_mean) FILTER (WHERE o.gaps_mean IS NOT NULL) OVER so_far AS gaps_mean,
        list(o.gaps_spread) FILTER (WHERE o.gaps_spread IS NOT NULL) OVER so_far AS gaps_spread
    FROM _features_line_segments s
    LEFT JOIN _features_new_items n USING (customer_id, segment)
    LEFT JOIN _features_order_segments o USING (customer_id, segment)
    WINDOW by_segment AS (PARTITION BY s.customer_id ORDER BY s.segment),
           so_far AS (by_segment ROWS UNBOUNDED PRECEDING)
), prices AS (
    -- Each customer's unit prices in segment order: those before a cutoff come first.
    SELECT customer_id, flatten(list(unit_prices ORDER BY segment)) AS unit_prices
    FROM _features_line_segments
    GROUP BY customer_id
), measures AS (
    SELECT
        r.customer_id,
        r.segment,
        r.last_cutoff,
        r.first_purchase_ts,
        r.last_purchase_ts,
        r.gross_spend::DOUBLE AS gross_spend,
        r.purchase_lines::BIGINT AS purchase_lines,
        r.total_units::DOUBLE AS total_units,
        -- Averages from the exact sums and the median price rounded to 1e-9, as the one-date
        -- query computes them (there for Spark's sake).
        round(r.total_units::DOUBLE / nullif(r.lines_with_units, 0), 9) AS avg_units_per_line,
        r.max_units_per_line,
        -- combine() adds the segments' states up. Rounded: a floating-point aggregate's last
        -- bits depend on how DuckDB's threads split the customer's lines, and those bits
        -- moved the gradient-boosted models' bins.
        round(coalesce(
            finalize(list_reduce(r.units_spread, lambda a, b: combine(a, b)))
                / nullif(finalize(list_reduce(r.units_mean, lambda a, b: combine(a, b))), 0),
            0), 9) AS units_per_line_cv,
        round(list_median(p.unit_prices[1:r.purchase_lines]), 9) AS median_unit_price,
        r.distinct_products::BIGINT AS distinct_products,
        r.distinct_categories::BIGINT AS distinct_categories,
        r.frequency::BIGINT AS frequency,
        round(r.gross_spend::DOUBLE / r.frequency, 9) AS avg_order_value,
        round(finalize(list_reduce(r.gaps_mean, lambda a, b: combine(a, b))), 9)
            AS mean_days_between_purchases,
        round(finalize(list_reduce(r.gaps_spread, lambda a, b: combine(a, b))), 9)
            AS std_days_between_purchases
    FROM running r
    JOIN prices p USING (customer_id)
)
SELECT c.as_of, m.* EXCLUDE (segment, last_cutoff)
FROM measures m
JOIN _features_cutoffs c ON c.cutoff_index > m.segment AND c.cutoff_index <= m.last_cutoff
