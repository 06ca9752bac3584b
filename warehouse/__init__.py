"""DuckDB warehouse: migrations, loaders, SQL models, geography, read-only access. No Prefect."""
