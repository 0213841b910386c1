-- Every loaded or retracted file version: its path, content hash, size, modification time
-- and status.
SELECT file_path, content_hash, size_bytes, modified_at, status
FROM raw.file_ledger
WHERE status IN ('loaded', 'retracted')
