SELECT max(loaded_at) FROM vintage
