-- Every loaded file version: its path, content hash, size and modification time.
SELECT file_path, content_hash, size_bytes, modified_at
FROM raw.file_ledger
WHERE status = 'loaded'
