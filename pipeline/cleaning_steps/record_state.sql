-- What the staging tables now hold: the loaded file versions, the raw rows, the rules'
-- settings and the clock (one row; the previous one is deleted first, in the same
-- transaction as the tables).
INSERT INTO staging.cleaning_state
SELECT
    $engine AS engine,
    $cleaned_at AS cleaned_at,
    $future_tolerance_days AS future_tolerance_days,
    $non_product_codes::VARCHAR[] AS non_product_codes,
    (
        SELECT list({'file_path': file_path, 'content_hash': content_hash}
                    ORDER BY file_path, content_hash)
        FROM raw.file_ledger
        WHERE status = 'loaded'
    ) AS file_versions,
    (SELECT count(*) FROM raw.transactions) AS raw_rows,
    (SELECT max(ingested_at) FROM raw.transactions) AS raw_ingested_at,
    coalesce($rebuilt_at, $cleaned_at) AS rebuilt_at
