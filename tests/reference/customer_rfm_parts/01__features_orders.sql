-- An order is an invoice; files without invoice numbers count one order per timestamp.
SELECT customer_id,
       coalesce(invoice_id, strftime(invoice_ts, '%Y-%m-%d %H:%M:%S')) AS order_id,
       min(invoice_ts) AS order_ts,
       sum(line_amount::DECIMAL(38, 6)) AS order_amount
FROM staging.transactions
WHERE invoice_ts < $as_of
GROUP BY ALL
