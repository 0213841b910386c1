-- Store-wide purchase lines per category (OTHER and uncategorised left out) from the first
-- cutoff of pipeline.features.cutoff_segments to each cutoff (segment 0, the lines before
-- the first, is left out); the lines between two cutoffs are the difference.
WITH segments AS (
    SELECT c.category, t.segment, count(*) AS lines
    FROM _features_lines t
    JOIN features.product_categories c USING (stock_code)
    WHERE t.segment > 0 AND c.category IS NOT NULL AND c.category <> $other
    GROUP BY ALL
)
SELECT k.as_of, s.category, sum(s.lines)::BIGINT AS lines
FROM segments s
JOIN _features_cutoffs k ON s.segment < k.cutoff_index
GROUP BY ALL
