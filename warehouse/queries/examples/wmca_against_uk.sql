SELECT i.section, i.indicator_id, i.title, s.period, s.value AS wmca, s.uk_value AS uk,
       s.gap_uk, s.significant_gap_uk, i.unit
FROM indicator_summary s
JOIN indicator i USING (indicator_id)
WHERE s.geography_code = 'E47000007'
ORDER BY i.section, i.indicator_id
