-- Money is summed as DECIMAL (each line at 1e-6, exactly): a sum of doubles depends on the
-- order of the rows, which an appended staging table or DuckDB's threads change, and a
-- last-bit difference can move a rounded cent.
CREATE SCHEMA IF NOT EXISTS marts;
CREATE OR REPLACE TABLE marts.monthly_revenue AS
WITH first_purchase AS (
    SELECT customer_id, date_trunc('month', min(invoice_ts)) AS first_month
    FROM staging.transactions GROUP BY customer_id
), sales AS (
    SELECT date_trunc('month', invoice_ts)::DATE AS month,
           sum(line_amount::DECIMAL(38, 6))::DOUBLE AS revenue,
           count(DISTINCT coalesce(invoice_id, customer_id || strftime(invoice_ts, '%c')))
               AS orders,
           count(DISTINCT customer_id) AS customers
    FROM staging.transactions GROUP BY ALL
), newcomers AS (
    SELECT first_month::DATE AS month, count(*) AS new_customers
    FROM first_purchase GROUP BY ALL
), returned AS (
    SELECT date_trunc('month', invoice_ts)::DATE AS month, -sum(line_amount::DECIMAL(38, 6))::DOUBLE AS returns_amount
    FROM staging.returns GROUP BY ALL
)
SELECT s.month,
       year(s.month) AS year,
       month(s.month) AS month_of_year,
       round(s.revenue, 2) AS revenue,
       round(coalesce(r.returns_amount, 0), 2) AS returns_amount,
       round(s.revenue - coalesce(r.returns_amount, 0), 2) AS net_revenue,
       s.orders,
       s.customers,
       coalesce(n.new_customers, 0) AS new_customers,
       round(s.revenue / s.orders, 2) AS avg_order_value,
       round(s.revenue / lag(s.revenue, 12) OVER (ORDER BY s.month) - 1, 4) AS revenue_yoy_growth,
       round(s.revenue / avg(s.revenue) OVER (), 4) AS seasonality_index
FROM sales s
LEFT JOIN newcomers n USING (month)
LEFT JOIN returned r USING (month)
ORDER BY s.month
