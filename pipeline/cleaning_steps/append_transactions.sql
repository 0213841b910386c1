-- New purchase lines that are the first copy of their line, after the rows already there,
-- in the table's order (time, then file and row).
INSERT INTO staging.transactions BY NAME
SELECT * EXCLUDE (is_candidate, copy_number)
FROM _cleaning_copies
WHERE is_candidate AND copy_number = 1
ORDER BY invoice_ts, source_file, source_row
