-- Counts of a part beside the whole that contains it, for the same period: each member of a
-- composite area, the focus area within its region, the region within England, England within
-- the UK. A part's count never exceeds its whole's.
WITH pairs AS (
    SELECT member_code AS part, composite_code AS whole FROM area_member
    UNION ALL
    SELECT f.code, r.code FROM area_role f, area_role r WHERE f.role = 'focus' AND r.role = 'region'
    UNION ALL
    SELECT r.code, e.code FROM area_role r, area_role e WHERE r.role = 'region' AND e.role = 'england'
    UNION ALL
    SELECT e.code, u.code FROM area_role e, area_role u WHERE e.role = 'england' AND u.role = 'uk'
)
SELECT i.indicator_id, pa.name AS part_name, wa.name AS whole_name, p.period,
       p.value AS part_value, w.value AS whole_value
FROM pairs
JOIN indicator i ON i.unit = 'count' AND i.aggregation = 'sum'
JOIN indicator_value p ON p.indicator_id = i.indicator_id AND p.geography_code = pairs.part
JOIN indicator_value w
  ON w.indicator_id = i.indicator_id AND w.geography_code = pairs.whole AND w.period = p.period
JOIN area pa ON pa.code = pairs.part
JOIN area wa ON wa.code = pairs.whole
WHERE p.value IS NOT NULL AND w.value IS NOT NULL AND p.value > w.value
ORDER BY i.indicator_id, p.period DESC, pa.name
