-- Typing rules, as macros so the typed SELECT (typed_rows.py) reads like a column list.

-- Whitespace around a value: spaces, tabs, every Unicode space separator (no-break space,
-- ideographic space, ...), zero-width space and a stray byte-order mark.
CREATE OR REPLACE TEMP MACRO ci_trimmed(s) AS
    regexp_replace(s, '^[ \t\pZ\x{200B}\x{FEFF}]+|[ \t\pZ\x{200B}\x{FEFF}]+$', '', 'g');
-- The missing-value tokens, the same for every reader and column (README "Bad input"):
-- NULL, \N, NA, N/A, #N/A, None, NaN, <NA>, (null), in any case. (A search in one string:
-- DuckDB plans an IN list, or list_contains of constants, as a join evaluated on every row.)
-- A token starts with one of # ( < N n \ : a text starting with a digit (most ids) is none.
CREATE OR REPLACE TEMP MACRO ci_missing_token(t) AS
    strlen(t) <= 6
    AND (t < '0' OR t >= ':')
    AND NOT contains(t, '|')
    AND contains('|null|\n|na|n/a|#n/a|none|nan|<na>|(null)|', '|' || lower(t) || '|');
CREATE OR REPLACE TEMP MACRO ci_value(t) AS
    CASE WHEN t = '' OR ci_missing_token(t) THEN NULL ELSE t END;
-- A value without its surrounding whitespace, or null when blank or a missing-value token.
-- An all-ASCII text whose first and last characters are printable (a byte-wise comparison)
-- has nothing to trim, which saves the regular expression on almost every value.
CREATE OR REPLACE TEMP MACRO ci_blank(s) AS
    CASE WHEN s >= '!' AND s < chr(127) AND NOT ends_with(s, ' ') AND NOT ends_with(s, chr(9))
              AND strlen(s) = length(s)
         THEN ci_value(s) ELSE ci_value(ci_trimmed(s)) END;

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
    TRY_CAST(ci_number_text(regexp_replace(s, '£|\$|€|¥|GBP|USD|EUR|\s|\pZ', '', 'g'),
                            decimal_mark) AS DOUBLE);
-- A CASE rather than coalesce(): DuckDB hoists the fallback's regexp_replace out of a
-- coalesce() and runs it on every row; in a CASE it runs only where the plain cast fails.
CREATE OR REPLACE TEMP MACRO ci_number_read(s, decimal_mark) AS
    CASE WHEN decimal_mark = '.' AND TRY_CAST(s AS DOUBLE) IS NOT NULL THEN TRY_CAST(s AS DOUBLE)
         ELSE ci_number_any(s, decimal_mark) END;
-- The sane magnitude of a quantity, price or amount: a finite number of at most 1e12 in
-- absolute value. Anything else (NaN, infinity, an overflow, 1e15) cannot be a real amount
-- and sends its row to quarantine.
CREATE OR REPLACE TEMP MACRO ci_sane(x) AS CASE WHEN abs(x) <= 1e12 THEN x END;
CREATE OR REPLACE TEMP MACRO ci_number(s, decimal_mark) AS ci_sane(ci_number_read(s, decimal_mark));
-- Why a present number did not type: the reason of its quarantine row.
CREATE OR REPLACE TEMP MACRO ci_number_problem(s, decimal_mark) AS
    CASE WHEN isfinite(ci_number_read(s, decimal_mark)) THEN 'beyond the sane magnitude 1e12: '
         ELSE 'not a number: ' END || s;
-- A number's text that is present: not blank and not a missing-value token, except that
-- NaN is a poisoned number, not a missing one.
CREATE OR REPLACE TEMP MACRO ci_number_given(s) AS
    ci_blank(s) IS NOT NULL OR lower(ci_trimmed(s)) = 'nan';

-- ISO 8601 with an offset ('+01:00', '-0500', '+02', 'Z', a space before it allowed) is
-- converted to UTC; an ISO time without one is taken as written (UTC). DuckDB's cast
-- ignores a trailing AM/PM: such a time goes through the 12-hour formats instead.
CREATE OR REPLACE TEMP MACRO ci_iso_timestamp(t) AS
    CASE WHEN regexp_matches(t, '(?i)[ap]\.?m\.?$') THEN NULL
         WHEN regexp_matches(t, ':\d{2}(:\d{2}(\.\d+)?)?\s*([zZ]|[+-]\d{2}(:?\d{2})?)$')
         THEN TRY_CAST(regexp_replace(t, '\s+([zZ]|[+-]\d{2}(:?\d{2})?)$', '\1') AS TIMESTAMPTZ)
              AT TIME ZONE 'UTC'
         ELSE TRY_CAST(t AS TIMESTAMP) END;
-- DuckDB's cast also reads '12/1/10' as the year 12: it is used only for a 4-digit year
-- first (ISO 8601); everything else goes through the formats, two-digit years first.
CREATE OR REPLACE TEMP MACRO ci_timestamp(s, formats) AS
    coalesce(
        CASE WHEN regexp_matches(ci_blank(s), '^\d{4}[-/]') THEN ci_iso_timestamp(ci_blank(s)) END,
        try_strptime(ci_blank(s), formats));
-- Numeric ids read through a spreadsheet come back as '17850.0' (the regex only runs on
-- ids with a dot).
CREATE OR REPLACE TEMP MACRO ci_customer_id(s) AS
    CASE WHEN contains(s, '.') THEN regexp_replace(ci_blank(s), '^(\d+)\.0+$', '\1')
         ELSE ci_blank(s) END;
