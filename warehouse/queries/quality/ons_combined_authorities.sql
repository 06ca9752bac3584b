-- ONS's own figure for a combined authority (Explore Local Statistics) beside the monitor's figure
-- for it from its councils, for every year both have: ONS's calendar year Y (`Y`, January to
-- December) is the monitor's 12 months to December Y (`Y-12`).
SELECT i.indicator_id, i.decimals, i.totals_differ, o.geography_code, a.name AS area_name, o.period,
       o.value AS ons_value, o.lower AS ons_lower, o.upper AS ons_upper, v.value AS computed
FROM indicator i
JOIN stg_observation_latest o ON o.dataset = i.ons_check_dataset AND o.series = i.ons_check_series
JOIN area a ON a.code = o.geography_code AND a.is_composite
JOIN indicator_value v
  ON v.indicator_id = i.indicator_id AND v.geography_code = o.geography_code
 AND v.period = o.period || '-12' AND v.basis = 'computed'
WHERE o.value IS NOT NULL AND v.value IS NOT NULL
ORDER BY i.indicator_id, o.geography_code, o.period
