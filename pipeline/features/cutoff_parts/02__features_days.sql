-- Each calendar day from the first cutoff's to the last cutoff's, with the segment of its
-- midnight (the cutoffs at or before it) and the cutoffs later that day (NULL when none: as-of
-- dates are midnights). A line finds its segment by a hash join on its day, not by comparing
-- it with every cutoff; the days before the first cutoff's are segment 0.
SELECT day::DATE AS day,
       (SELECT count(*) FROM _features_cutoffs c WHERE c.as_of <= day) AS segment,
       (SELECT list(c.as_of ORDER BY c.as_of)
        FROM _features_cutoffs c
        WHERE c.as_of > day AND c.as_of < day + INTERVAL 1 DAY) AS later_cutoffs
FROM range(
    (SELECT min(as_of)::DATE::TIMESTAMP FROM _features_cutoffs),
    (SELECT max(as_of)::DATE::TIMESTAMP + INTERVAL 1 DAY FROM _features_cutoffs),
    INTERVAL 1 DAY
) AS days(day)
