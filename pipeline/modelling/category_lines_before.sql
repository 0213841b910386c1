-- Purchase lines per customer in each category of $categories before each cutoff, from the
-- segments of pipeline.features.cutoff_segments: one row per cutoff and customer with lines
-- in any of them, one column category_<n> per category ($category_<n>). Running counts per
-- customer over the segments with such lines, each standing for the cutoffs up to the next
-- one. The braces are the generated category columns, one item per category
-- (window_queries.py): a segment's lines, their running sums, the sums selected.
WITH segments AS (
    SELECT t.customer_id,
           t.segment,
           {lines_in_segment}
    FROM _features_lines t
    JOIN features.product_categories c USING (stock_code)
    WHERE list_contains($categories, c.category)
    GROUP BY ALL
), running AS (
    SELECT customer_id,
           segment,
           {running_lines},
           coalesce(lead(segment) OVER by_segment,
                    (SELECT max(cutoff_index) FROM _features_cutoffs)) AS last_cutoff
    FROM segments
    WINDOW by_segment AS (PARTITION BY customer_id ORDER BY segment)
)
SELECT k.as_of AS window_start,
       r.customer_id,
       {lines}
FROM running r
JOIN _features_cutoffs k ON k.cutoff_index > r.segment AND k.cutoff_index <= r.last_cutoff
