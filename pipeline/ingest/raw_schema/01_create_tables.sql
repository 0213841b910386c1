-- The raw layer: typed rows, quarantined rows and one ledger entry per file version.
CREATE SCHEMA IF NOT EXISTS raw;

CREATE TABLE IF NOT EXISTS raw.transactions (
    invoice_id   VARCHAR,
    stock_code   VARCHAR,
    description  VARCHAR,
    quantity     DOUBLE,
    invoice_ts   TIMESTAMP NOT NULL,
    unit_price   DOUBLE,
    customer_id  VARCHAR,
    country      VARCHAR,
    line_amount  DOUBLE NOT NULL,
    source_file  VARCHAR NOT NULL,
    source_sheet VARCHAR,
    source_row   BIGINT NOT NULL,
    ingested_at  TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS raw.quarantine (
    source_file    VARCHAR NOT NULL,
    source_sheet   VARCHAR,
    source_row     BIGINT,
    column_name    VARCHAR,
    reason         VARCHAR NOT NULL,
    raw_record     VARCHAR,
    quarantined_at TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS raw.file_ledger (
    file_path        VARCHAR NOT NULL,
    content_hash     VARCHAR NOT NULL,
    size_bytes       BIGINT NOT NULL,
    layout           VARCHAR,
    status           VARCHAR NOT NULL,
    rows_read        BIGINT NOT NULL,
    rows_loaded      BIGINT NOT NULL,
    rows_quarantined BIGINT NOT NULL,
    error            VARCHAR,
    ingested_at      TIMESTAMP NOT NULL,
    modified_at      TIMESTAMP,
    encoding         VARCHAR
);
