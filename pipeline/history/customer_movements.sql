-- The latest move of each customer per dimension: the label before it, the current label
-- (at the newest snapshot) and the first snapshot that showed it.
CREATE SCHEMA IF NOT EXISTS marts;
CREATE OR REPLACE TABLE marts.customer_movements AS
WITH labels AS (
    UNPIVOT (
        SELECT snapshot_date, customer_id,
               value_segment, persona, rfm_segment, churn_risk_band
        FROM history.customer_snapshots
    )
    ON value_segment, persona, rfm_segment, churn_risk_band
    INTO NAME dimension VALUE label
), with_previous AS (
    SELECT customer_id, dimension, snapshot_date, label,
           lag(label) OVER by_date AS previous_label,
           lag(snapshot_date) OVER by_date AS previous_snapshot
    FROM labels
    WINDOW by_date AS (PARTITION BY customer_id, dimension ORDER BY snapshot_date)
), latest_move AS (
    SELECT customer_id, dimension,
           previous_label AS from_label,
           label AS to_label,
           snapshot_date AS since,
           previous_snapshot
    FROM with_previous
    WHERE previous_label IS NOT NULL AND previous_label <> label
    QUALIFY row_number() OVER (PARTITION BY customer_id, dimension ORDER BY snapshot_date DESC) = 1
), newest AS (
    SELECT customer_id, monetary
    FROM history.customer_snapshots
    WHERE snapshot_date = (SELECT max(snapshot_date) FROM history.customer_snapshots)
)
SELECT m.customer_id, m.dimension, m.from_label, m.to_label, m.since, m.previous_snapshot,
       n.monetary
FROM latest_move m
JOIN newest n USING (customer_id)
ORDER BY m.dimension, m.since DESC, m.customer_id
