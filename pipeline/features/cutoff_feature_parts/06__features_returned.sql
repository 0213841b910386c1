-- Returned amount and lines per customer before each cutoff.
WITH segments AS (
    SELECT customer_id, segment,
           sum(line_amount::DECIMAL(38, 6)) AS amount,
           count(*) AS lines
    FROM _features_return_lines
    GROUP BY customer_id, segment
), running AS (
    SELECT customer_id, segment,
           sum(amount) OVER by_segment AS amount,
           sum(lines) OVER by_segment AS lines,
           coalesce(lead(segment) OVER by_segment,
                    (SELECT max(cutoff_index) FROM _features_cutoffs)) AS last_cutoff
    FROM segments
    WINDOW by_segment AS (PARTITION BY customer_id ORDER BY segment)
)
SELECT c.as_of, r.customer_id, -r.amount::DOUBLE AS returned_amount,
       r.lines::BIGINT AS returned_lines
FROM running r
JOIN _features_cutoffs c ON c.cutoff_index > r.segment AND c.cutoff_index <= r.last_cutoff
