-- The customer's most frequent country before each cutoff; on equal counts the first
-- alphabetically (mode() would take whichever value its threads met first).
WITH segments AS (
    SELECT customer_id, country, segment, count(*) AS lines
    FROM _features_lines
    WHERE country IS NOT NULL
    GROUP BY ALL
), running AS (
    SELECT customer_id, country, segment,
           sum(lines) OVER by_segment AS lines,
           coalesce(lead(segment) OVER by_segment,
                    (SELECT max(cutoff_index) FROM _features_cutoffs)) AS last_cutoff
    FROM segments
    WINDOW by_segment AS (PARTITION BY customer_id, country ORDER BY segment)
)
SELECT c.as_of, r.customer_id, first(r.country ORDER BY r.lines DESC, r.country) AS country
FROM running r
JOIN _features_cutoffs c ON c.cutoff_index > r.segment AND c.cutoff_index <= r.last_cutoff
GROUP BY c.as_of, r.customer_id
