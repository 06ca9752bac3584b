SELECT composite_code, member_code FROM area_member ORDER BY composite_code, member_code
