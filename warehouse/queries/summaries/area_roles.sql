SELECT role, code FROM area_role
