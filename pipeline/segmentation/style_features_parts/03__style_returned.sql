SELECT r.customer_id, max(-r.quantity) AS max_returned_units
FROM staging.returns r
WHERE r.invoice_ts < $as_of AND r.quantity < 0
GROUP BY r.customer_id
