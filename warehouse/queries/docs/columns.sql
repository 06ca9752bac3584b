SELECT table_name, column_name, data_type, is_nullable, coalesce(comment, '')
FROM duckdb_columns()
WHERE database_name = current_database() AND schema_name = 'main'
ORDER BY table_name, column_index
