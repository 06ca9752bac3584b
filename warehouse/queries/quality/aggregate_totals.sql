-- The publisher's own figure for a composite area (a combined authority's row) beside the monitor's
-- figure for it from its members, for every period both have, with the number of members.
SELECT i.indicator_id, i.unit, i.decimals, i.totals_differ, p.geography_code, a.name AS area_name,
       p.period, p.value AS published, v.value AS computed, mc.members
FROM indicator i
JOIN stg_observation_latest p ON p.dataset = i.dataset AND p.series = i.series
JOIN area a ON a.code = p.geography_code AND a.is_composite
JOIN indicator_value v
  ON v.indicator_id = i.indicator_id AND v.geography_code = p.geography_code AND v.period = p.period
 AND v.basis = 'computed'
JOIN (SELECT composite_code, count(*) AS members FROM area_member GROUP BY composite_code) mc
  ON mc.composite_code = p.geography_code
WHERE i.aggregation IN ('sum', 'ratio') AND p.value IS NOT NULL AND v.value IS NOT NULL
ORDER BY i.indicator_id, p.geography_code, p.period
