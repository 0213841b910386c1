SELECT customer_id, recency_days, tenure_days, frequency, monetary, avg_order_value, as_of
FROM features.customer_rfm
ORDER BY customer_id
