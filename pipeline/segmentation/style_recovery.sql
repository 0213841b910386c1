WITH joined AS (
    SELECT s.purchase_style, t.is_bulk, t.is_anomalous
    FROM segments.purchase_style s
    JOIN read_parquet($truth) t ON t.customer_id::VARCHAR = s.customer_id
)
SELECT
    count(*),
    count(*) FILTER (WHERE purchase_style = 'Bulk'),
    count(*) FILTER (WHERE is_bulk),
    count(*) FILTER (WHERE purchase_style = 'Bulk' AND is_bulk),
    count(*) FILTER (WHERE purchase_style = 'Anomaly'),
    count(*) FILTER (WHERE is_anomalous),
    count(*) FILTER (WHERE purchase_style = 'Anomaly' AND is_anomalous)
FROM joined
