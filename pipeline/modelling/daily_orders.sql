SELECT invoice_ts::DATE AS day,
       count(DISTINCT coalesce(invoice_id, strftime(invoice_ts, '%Y-%m-%d %H:%M:%S'))) AS orders
FROM staging.transactions
WHERE invoice_ts < $as_of
GROUP BY ALL
ORDER BY day
