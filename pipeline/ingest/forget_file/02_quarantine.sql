-- Every quarantined row a file contributed (see 01_transactions.sql).
DELETE FROM raw.quarantine
WHERE source_file = $file_path
   OR (starts_with(source_file, $member_prefix)
       AND source_file NOT IN (SELECT file_path FROM raw.file_ledger WHERE status = 'loaded'));
