-- Typing rules, as macros so the typed SELECT (typed_rows.py) reads like a column list.
-- NULLIF(trim(s), ''), without trim's copy of every string: trim removes ' ' and Unicode
-- space separators only, so an all-ASCII text that neither starts nor ends with a space
-- (first byte '!'..'~' by a byte-wise comparison) is returned as it is.
CREATE OR REPLACE TEMP MACRO ci_blank(s) AS
    CASE WHEN s >= '!' AND s < chr(127) AND NOT ends_with(s, ' ') AND strlen(s) = length(s)
         THEN s ELSE NULLIF(trim(s), '') END;
-- Currency symbols, ISO codes and blanks are dropped; comma decimals are recognised:
-- '1,234.5' and '1.234,5' are thousands-separated, a lone comma is a decimal comma.
CREATE OR REPLACE TEMP MACRO ci_number_text(t, decimal_mark) AS
    CASE
        WHEN decimal_mark = ',' THEN replace(replace(t, '.', ''), ',', '.')
        WHEN regexp_full_match(t, '[-+]?\d{1,3}(,\d{3})+(\.\d+)?') THEN replace(t, ',', '')
        WHEN regexp_full_match(t, '[-+]?\d{1,3}(\.\d{3})+,\d+')
            THEN replace(replace(t, '.', ''), ',', '.')
        WHEN regexp_full_match(t, '[-+]?\d*,\d+') THEN replace(t, ',', '.')
        ELSE t
    END;
CREATE OR REPLACE TEMP MACRO ci_number_any(s, decimal_mark) AS
    TRY_CAST(ci_number_text(regexp_replace(trim(s), '£|\$|€|¥|GBP|USD|EUR|\s', '', 'g'),
                            decimal_mark) AS DOUBLE);
CREATE OR REPLACE TEMP MACRO ci_finite(x) AS CASE WHEN isfinite(x) THEN x END;
-- A CASE rather than coalesce(): DuckDB hoists the fallback's regexp_replace out of a
-- coalesce() and runs it on every row; in a CASE it runs only where the plain cast fails.
CREATE OR REPLACE TEMP MACRO ci_number(s, decimal_mark) AS ci_finite(
    CASE WHEN decimal_mark = '.' AND TRY_CAST(s AS DOUBLE) IS NOT NULL THEN TRY_CAST(s AS DOUBLE)
         ELSE ci_number_any(s, decimal_mark) END);
-- DuckDB's cast also reads '12/1/10' as the year 12: it is used only for a 4-digit year
-- first (ISO 8601); everything else goes through the formats, two-digit years first.
CREATE OR REPLACE TEMP MACRO ci_timestamp(s, formats) AS
    coalesce(
        CASE WHEN regexp_matches(trim(s), '^\d{4}[-/]') THEN TRY_CAST(trim(s) AS TIMESTAMP) END,
        try_strptime(trim(s), formats));
-- Numeric ids read through a spreadsheet come back as '17850.0' (the regex only runs on
-- ids with a dot).
CREATE OR REPLACE TEMP MACRO ci_customer_id(s) AS
    ci_blank(CASE WHEN contains(s, '.') THEN regexp_replace(trim(s), '^(\d+)\.0+$', '\1')
                  ELSE s END);
