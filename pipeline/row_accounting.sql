-- Rows read from the loaded files, and where each one went (see pipeline/cleaning.py).
SELECT
    (SELECT coalesce(sum(rows_read), 0) FROM raw.file_ledger WHERE status = 'loaded'),
    (SELECT count(*) FROM raw.transactions),
    (SELECT count(*) FROM raw.quarantine),
    (SELECT count(*) FROM staging.transactions),
    (SELECT count(*) FROM staging.returns),
    (SELECT count(*) FROM staging.excluded)
