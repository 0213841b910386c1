-- New rows a rule removes, and every later copy of a purchase line (new ones, and kept
-- ones a new row precedes), after the rows already there, in the table's order (file, row).
INSERT INTO staging.excluded BY NAME
SELECT * FROM (
    SELECT * EXCLUDE (revived)
    FROM _cleaning_candidates
    WHERE rule IS NOT NULL AND rule <> 'cancellation'
    UNION ALL BY NAME
    SELECT * EXCLUDE (is_candidate, copy_number), 'duplicate_line' AS rule
    FROM _cleaning_copies
    WHERE copy_number > 1
)
ORDER BY source_file, source_row
