-- How the loaded file versions moved since the previous build: each version it was made
-- from that is no longer loaded (with what the ledger says of it now), and each loaded
-- version it was not made from (with its rows).
WITH previous AS (
    SELECT unnest(file_versions, recursive := true)
    FROM staging.cleaning_state
),
loaded AS (
    SELECT file_path, content_hash, rows_loaded
    FROM raw.file_ledger
    WHERE status = 'loaded'
)
SELECT
    'gone' AS change,
    p.file_path,
    coalesce(
        (SELECT max(l.status) FROM raw.file_ledger AS l
         WHERE l.file_path = p.file_path AND l.content_hash = p.content_hash),
        'missing from the ledger'
    ) AS status,
    0 AS rows_loaded
FROM previous AS p
ANTI JOIN loaded USING (file_path, content_hash)
UNION ALL
SELECT 'new', file_path, 'loaded', rows_loaded
FROM loaded
ANTI JOIN previous USING (file_path, content_hash)
ORDER BY change, file_path
