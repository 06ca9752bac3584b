SELECT code, name, short_name, level FROM area
