SELECT 1 FROM duckdb_tables()
WHERE table_name = 'quality_check' AND schema_name = 'main' AND database_name = current_database()
