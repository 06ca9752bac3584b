SELECT max(period)
FROM indicator_value v JOIN area_role r ON r.code = v.geography_code AND r.role = 'focus'
WHERE v.indicator_id = ? AND v.value IS NOT NULL
