SELECT s.rank_region, a.name AS region, s.period, s.value AS gdp_per_head_gbp, s.change_year_pct
FROM indicator_summary s
JOIN area_set r ON r.code = s.geography_code AND r.set_name = 'regions'
JOIN area a ON a.code = s.geography_code
WHERE s.indicator_id = 'gdp_per_head'
ORDER BY s.rank_region NULLS LAST, a.name
