-- A line the CSV parser could not split into the file's columns: the whole line, no column.
INSERT INTO raw.quarantine
VALUES ($source_file, $source_sheet, $line, NULL, $reason, $raw, $now)
