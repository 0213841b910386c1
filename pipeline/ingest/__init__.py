"""Ingestion: landing files (CSV, Excel, Parquet) into raw.transactions, raw.quarantine and
raw.file_ledger. Plain functions and SQL files, no Dagster import.

- discovery.py: which landing files are data, and which changed since the last look
- readers.py (csv_reader.py, excel.py, staging.py, file_scan.py): a file staged as text
- column_mapping.py: a file's columns to the canonical ones
- typed_rows.py (+ typing_macros.sql): the SQL that types a staged part, row by row
- loading.py (+ insert_*.sql): one file in one transaction; the landing folder
- ledger.py (+ raw_schema/, forget_file/, record_file_version.sql): raw.file_ledger
"""

from pipeline.ingest.discovery import discover_files
from pipeline.ingest.ledger import RetractionError, ensure_raw_schema, ledger_name, retract_files
from pipeline.ingest.loading import FileOutcome, IngestReport, ingest_file, ingest_landing

__all__ = [
    "FileOutcome",
    "IngestReport",
    "RetractionError",
    "discover_files",
    "ensure_raw_schema",
    "ingest_file",
    "ingest_landing",
    "ledger_name",
    "retract_files",
]
