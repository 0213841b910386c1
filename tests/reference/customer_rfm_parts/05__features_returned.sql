SELECT customer_id, -sum(line_amount::DECIMAL(38, 6))::DOUBLE AS returned_amount,
       count(*) AS returned_lines
FROM staging.returns
WHERE invoice_ts < $as_of
GROUP BY customer_id
