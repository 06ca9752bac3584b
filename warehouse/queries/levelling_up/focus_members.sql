-- The focus area's member councils (the WMCA's seven for the West Midlands area set).
SELECT m.member_code FROM area_role r
JOIN area_member m ON m.composite_code = r.code
WHERE r.role = 'focus'
ORDER BY m.member_code
