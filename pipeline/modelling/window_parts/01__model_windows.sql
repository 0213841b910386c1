-- The model windows [window_start, window_start + $horizon_days days), one row each.
SELECT window_start, window_start + to_days($horizon_days) AS window_end
FROM (SELECT DISTINCT unnest($window_starts)::TIMESTAMP AS window_start)
