-- The customer's most frequent country; on equal counts the first alphabetically
-- (mode() would take whichever value its threads met first). A ranking rather than
-- first(country ORDER BY ...), which Spark SQL does not have.
SELECT customer_id, country
FROM (SELECT customer_id, country,
             row_number() OVER (PARTITION BY customer_id
                                ORDER BY count(*) DESC, country) AS country_rank
      FROM staging.transactions
      WHERE invoice_ts < $as_of AND country IS NOT NULL
      GROUP BY customer_id, country)
WHERE country_rank = 1
