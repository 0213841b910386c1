-- Purchase lines before the last cutoff, each with its segment (see _features_days).
SELECT t.*,
       coalesce(d.segment, 0) + CASE
           WHEN d.later_cutoffs IS NULL THEN 0
           ELSE len(list_filter(d.later_cutoffs, lambda cutoff: cutoff <= t.invoice_ts))
       END AS segment
FROM staging.transactions t
LEFT JOIN _features_days d ON d.day = t.invoice_ts::DATE
WHERE t.invoice_ts < (SELECT max(as_of) FROM _features_cutoffs)
