-- Every row a file contributed; an archive's rows name their member as 'archive.zip!member'
-- ($member_prefix 'archive.zip!', or null for a plain file).
DELETE FROM raw.transactions
WHERE source_file = $file_path OR starts_with(source_file, $member_prefix);
