-- Returned lines before the last cutoff, each with its segment, as _features_lines.
SELECT r.*,
       coalesce(d.segment, 0) + CASE
           WHEN d.later_cutoffs IS NULL THEN 0
           ELSE len(list_filter(d.later_cutoffs, lambda cutoff: cutoff <= r.invoice_ts))
       END AS segment
FROM staging.returns r
LEFT JOIN _features_days d ON d.day = r.invoice_ts::DATE
WHERE r.invoice_ts < (SELECT max(as_of) FROM _features_cutoffs)
