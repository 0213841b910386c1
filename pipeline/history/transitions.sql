-- Customers and net spend per (from label, to label) between the snapshots $from_date and
-- $to_date, for each dimension in $dimensions. A customer without a row at $from_date comes
-- from '(new)'. UNPIVOT leaves out a null label (a customer a model could not label).
WITH later AS (
    UNPIVOT (
        SELECT customer_id, monetary, value_segment, persona, rfm_segment, churn_risk_band
        FROM history.customer_snapshots
        WHERE snapshot_date = $to_date
    )
    ON value_segment, persona, rfm_segment, churn_risk_band
    INTO NAME dimension VALUE to_label
), earlier AS (
    UNPIVOT (
        SELECT customer_id, monetary AS monetary_before,
               value_segment, persona, rfm_segment, churn_risk_band
        FROM history.customer_snapshots
        WHERE snapshot_date = $from_date
    )
    ON value_segment, persona, rfm_segment, churn_risk_band
    INTO NAME dimension VALUE from_label
), pairs AS (
    SELECT l.dimension,
           coalesce(e.from_label, '(new)') AS from_label,
           l.to_label,
           l.monetary,
           l.monetary - coalesce(e.monetary_before, 0) AS spent_between
    FROM later l
    LEFT JOIN earlier e USING (customer_id, dimension)
    WHERE list_contains($dimensions, l.dimension)
)
SELECT dimension,
       $from_date::DATE AS from_date,
       $to_date::DATE AS to_date,
       from_label,
       to_label,
       count(*) AS customers,
       round(sum(monetary), 2) AS revenue,
       round(sum(spent_between), 2) AS revenue_between,
       round(count(*) / sum(count(*)) OVER (PARTITION BY dimension, from_label), 4)
           AS share_of_from
FROM pairs
GROUP BY dimension, from_label, to_label
ORDER BY dimension, from_label, to_label
