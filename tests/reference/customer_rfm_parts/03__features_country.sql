-- The customer's most frequent country; on equal counts the first alphabetically
-- (mode() would take whichever value its threads met first).
SELECT customer_id, first(country ORDER BY lines DESC, country) AS country
FROM (SELECT customer_id, country, count(*) AS lines
      FROM staging.transactions
      WHERE invoice_ts < $as_of AND country IS NOT NULL
      GROUP BY ALL)
GROUP BY customer_id
