SELECT level FROM area WHERE code = ?
