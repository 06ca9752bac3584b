SELECT block_size FROM pragma_database_size()
