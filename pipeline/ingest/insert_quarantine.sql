-- The rows of the part typed in the view _typed_rows that fail a check: the first failed
-- column, every problem, and the original values.
INSERT INTO raw.quarantine
SELECT
    $source_file,
    $source_sheet,
    source_row,
    split_part(errors[1], ':', 1),
    array_to_string(errors, '; '),
    raw_record,
    $now
FROM _typed_rows
WHERE NOT is_valid
