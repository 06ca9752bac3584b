SELECT set_name, code FROM area_set ORDER BY set_name, sort_order
