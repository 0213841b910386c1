CREATE OR REPLACE TABLE marts.product_recommendations AS
SELECT customer_id,
       category,
       probability,
       row_number() OVER (PARTITION BY customer_id ORDER BY probability DESC, category)
           AS recommendation_rank,
       bought_before,
       $threshold::DOUBLE AS threshold,
       model_name,
       model_version,
       as_of
FROM scores.product_propensity
WHERE probability >= $threshold
ORDER BY customer_id, recommendation_rank
