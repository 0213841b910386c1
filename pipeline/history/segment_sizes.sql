-- Customers and net spend per label and snapshot date, for one dimension.
SELECT snapshot_date, dimension, label, count(*) AS customers, round(sum(monetary), 2) AS revenue
FROM (
    UNPIVOT (
        SELECT snapshot_date, customer_id, monetary,
               value_segment, persona, rfm_segment, churn_risk_band
        FROM history.customer_snapshots
    )
    ON value_segment, persona, rfm_segment, churn_risk_band
    INTO NAME dimension VALUE label
)
WHERE dimension = $dimension
GROUP BY ALL
ORDER BY snapshot_date, label
