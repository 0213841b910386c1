-- The valid rows of the part typed in the view _typed_rows (typed_rows.py), with lineage.
INSERT INTO raw.transactions
SELECT
    invoice_id,
    stock_code,
    description,
    quantity,
    invoice_ts,
    unit_price,
    customer_id,
    country,
    line_amount,
    $source_file,
    $source_sheet,
    source_row,
    $now
FROM _typed_rows
WHERE is_valid
