-- The rows of raw.transactions ingested after $since, and any older row that repeats the
-- lineage key of one of them (so the key's uniqueness is checked against the whole table).
-- Keys are compared with IS NOT DISTINCT FROM: source_sheet is null for CSV files.
WITH new_keys AS (
    SELECT DISTINCT source_file, source_sheet, source_row
    FROM raw.transactions
    WHERE ingested_at > $since
)
SELECT t.*
FROM raw.transactions AS t
SEMI JOIN new_keys AS k
    ON t.source_file IS NOT DISTINCT FROM k.source_file
   AND t.source_sheet IS NOT DISTINCT FROM k.source_sheet
   AND t.source_row IS NOT DISTINCT FROM k.source_row
