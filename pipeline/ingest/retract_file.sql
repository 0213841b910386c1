-- A loaded file taken back: its ledger entry says so (and when); its rows are deleted by
-- forget_file/.
UPDATE raw.file_ledger
SET status = 'retracted',
    error = 'retracted at ' || strftime($now, '%Y-%m-%d %H:%M:%S') || ' UTC'
WHERE file_path = $file_path AND status = 'loaded'
