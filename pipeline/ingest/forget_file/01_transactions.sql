-- Every row a file contributed; an archive's rows name their member as 'archive.zip!member'
-- ($member_prefix 'archive.zip!', or null for a plain file), unless that name is a file of
-- its own in the ledger.
DELETE FROM raw.transactions
WHERE source_file = $file_path
   OR (starts_with(source_file, $member_prefix)
       AND source_file NOT IN (SELECT file_path FROM raw.file_ledger WHERE status = 'loaded'));
