-- The ledger entry of one file version.
INSERT INTO raw.file_ledger (
    file_path,
    content_hash,
    size_bytes,
    layout,
    status,
    rows_read,
    rows_loaded,
    rows_quarantined,
    error,
    ingested_at,
    modified_at,
    encoding
)
VALUES (
    $file_path,
    $content_hash,
    $size_bytes,
    $layout,
    $status,
    $rows_read,
    $rows_loaded,
    $rows_quarantined,
    $error,
    $ingested_at,
    $modified_at,
    $encoding
)
