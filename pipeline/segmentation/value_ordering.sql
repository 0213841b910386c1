-- Spearman = Pearson correlation of average ranks (ties share the mean of their ranks).
WITH joined AS (
    SELECT v.value_score, t.spend_observed, t.future_spend
    FROM segments.customer_value v
    JOIN read_parquet($truth) t ON t.customer_id::VARCHAR = v.customer_id
), ranked AS (
    SELECT
        rank() OVER (ORDER BY value_score)
            + (count(*) OVER (PARTITION BY value_score) - 1) / 2.0 AS score_rank,
        rank() OVER (ORDER BY spend_observed)
            + (count(*) OVER (PARTITION BY spend_observed) - 1) / 2.0 AS spend_rank,
        rank() OVER (ORDER BY future_spend)
            + (count(*) OVER (PARTITION BY future_spend) - 1) / 2.0 AS future_rank
    FROM joined
)
SELECT count(*), corr(score_rank, spend_rank), corr(score_rank, future_rank) FROM ranked
