-- The rows of __TABLE__ (raw.transactions or a staging table; a quoted name from the
-- contracts) that come from the raw rows ingested after $since up to $through (the rows
-- loaded, or cleaned, since the last evaluation), and any row that repeats the lineage key
-- of one of them, so the key's uniqueness is checked against the whole table. Keys are
-- compared with IS NOT DISTINCT FROM: source_sheet is null for CSV files.
WITH new_keys AS (
    SELECT DISTINCT source_file, source_sheet, source_row
    FROM raw.transactions
    WHERE ingested_at > $since AND ingested_at <= $through
)
SELECT t.*
FROM __TABLE__ AS t
SEMI JOIN new_keys AS k
    ON t.source_file IS NOT DISTINCT FROM k.source_file
   AND t.source_sheet IS NOT DISTINCT FROM k.source_sheet
   AND t.source_row IS NOT DISTINCT FROM k.source_row
