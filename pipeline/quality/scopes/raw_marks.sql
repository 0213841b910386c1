-- raw.transactions now: its rows, the latest ingested_at, and the rows ingested up to the
-- previous evaluation's latest (equal to its row count while nothing loaded before it left).
SELECT
    count(*) AS row_count,
    max(ingested_at) AS ingested_through,
    count(*) FILTER (WHERE ingested_at <= $since) AS rows_through_since
FROM raw.transactions
