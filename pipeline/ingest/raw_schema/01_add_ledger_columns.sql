-- Ledgers written before modified_at existed gain the column (null: hashed once more).
ALTER TABLE raw.file_ledger ADD COLUMN IF NOT EXISTS modified_at TIMESTAMP;
-- ... and encoding (null: not recorded, or not a text file).
ALTER TABLE raw.file_ledger ADD COLUMN IF NOT EXISTS encoding VARCHAR;
