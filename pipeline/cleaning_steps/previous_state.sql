-- The state the previous build recorded (staging.cleaning_state holds one row).
SELECT
    engine,
    cleaned_at,
    future_tolerance_days,
    non_product_codes,
    raw_rows,
    raw_ingested_at,
    rebuilt_at
FROM staging.cleaning_state
