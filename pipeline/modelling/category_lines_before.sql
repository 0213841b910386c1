-- Purchase lines per customer and category of $categories before each cutoff, from the
-- segments of pipeline.features.cutoff_segments: running counts per customer and category,
-- each standing for the cutoffs up to the next segment with such lines.
WITH segments AS (
    SELECT t.customer_id, c.category, t.segment, count(*) AS lines
    FROM _features_lines t
    JOIN features.product_categories c USING (stock_code)
    WHERE list_contains($categories, c.category)
    GROUP BY ALL
), running AS (
    SELECT customer_id, category, segment,
           sum(lines) OVER by_segment AS lines,
           coalesce(lead(segment) OVER by_segment,
                    (SELECT max(cutoff_index) FROM _features_cutoffs)) AS last_cutoff
    FROM segments
    WINDOW by_segment AS (PARTITION BY customer_id, category ORDER BY segment)
)
SELECT k.as_of AS window_start, r.customer_id, r.category, r.lines
FROM running r
JOIN _features_cutoffs k ON k.cutoff_index > r.segment AND k.cutoff_index <= r.last_cutoff
