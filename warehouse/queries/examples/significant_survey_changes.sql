SELECT i.title, a.name AS area, s.period, s.value, s.year_ago_value, s.change_year,
       s.lower, s.upper
FROM indicator_summary s
JOIN indicator i USING (indicator_id)
JOIN area a ON a.code = s.geography_code
WHERE i.dataset = 'annual_population_survey' AND s.significant_year
ORDER BY i.indicator_id, a.sort_order
