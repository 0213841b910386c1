-- What the customer features before $until are computed from: the purchase and return lines
-- before it (whole rows) and the product categories (stock code and category), each as a
-- row count and the order-insensitive sum of its rows' hashes.
SELECT
    (SELECT count(*) || ':' || coalesce(sum(hash(t)::HUGEINT), 0)
     FROM staging.transactions t
     WHERE invoice_ts < $until) AS purchase_lines,
    (SELECT count(*) || ':' || coalesce(sum(hash(t)::HUGEINT), 0)
     FROM staging.returns t
     WHERE invoice_ts < $until) AS return_lines,
    (SELECT count(*) || ':' || coalesce(sum(hash(stock_code, category)::HUGEINT), 0)
     FROM features.product_categories) AS categories
