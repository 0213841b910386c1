-- The columns of one table and their DuckDB types, in table order.
SELECT column_name, upper(data_type)
FROM information_schema.columns
WHERE table_catalog = current_database()
  AND table_schema = ?
  AND table_name = ?
ORDER BY ordinal_position
