-- The rows of raw.transactions, those ingested after the previous build's latest
-- ingested_at, and the rows of the three staging tables together.
SELECT
    (SELECT count(*) FROM raw.transactions) AS raw_rows,
    (SELECT count(*) FROM raw.transactions WHERE ingested_at > $previous_ingested_at) AS new_rows,
    (SELECT count(*) FROM staging.transactions)
    + (SELECT count(*) FROM staging.returns)
    + (SELECT count(*) FROM staging.excluded) AS staging_rows
