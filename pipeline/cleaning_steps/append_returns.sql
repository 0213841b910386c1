-- New cancellations and returns, after the rows already there, in the table's order.
INSERT INTO staging.returns BY NAME
SELECT * EXCLUDE (rule, revived)
FROM _cleaning_candidates
WHERE rule = 'cancellation'
ORDER BY invoice_ts, source_file, source_row
