-- Rows excluded as future-dated that the run time now lets through: they were cleaned
-- again with the new rows (_cleaning_candidates) and leave this rule.
DELETE FROM staging.excluded
WHERE rule = 'future_date' AND invoice_ts <= $latest_valid_ts
