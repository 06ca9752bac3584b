SELECT code, coalesce(nullif(short_name, ''), name) FROM area
