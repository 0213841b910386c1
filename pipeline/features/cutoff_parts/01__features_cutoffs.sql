-- The as-of dates, oldest first. The lines before the k-th (cutoff_index = k) are the lines
-- of segments 0 .. k-1, where a line's segment is the number of cutoffs at or before it.
SELECT as_of, row_number() OVER (ORDER BY as_of) AS cutoff_index
FROM (SELECT DISTINCT unnest($as_of_dates)::TIMESTAMP AS as_of)
