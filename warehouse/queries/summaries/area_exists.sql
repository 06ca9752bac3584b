SELECT 1 FROM area WHERE code = ?
