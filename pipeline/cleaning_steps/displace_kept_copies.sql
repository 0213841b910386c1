-- Purchase lines kept as first copies that a new row now precedes in file order: they
-- leave staging.transactions (append_excluded.sql adds them as duplicate_line).
DELETE FROM staging.transactions AS kept
USING _cleaning_copies AS later
WHERE NOT later.is_candidate
  AND later.copy_number > 1
  AND kept.invoice_ts = later.invoice_ts
  AND kept.source_file = later.source_file
  AND kept.source_sheet IS NOT DISTINCT FROM later.source_sheet
  AND kept.source_row = later.source_row
