SELECT a.name AS council, s.period, round(s.value, 1) AS claimant_rate,
       round(s.change_year, 1) AS change_on_year, round(s.gap_uk, 1) AS gap_to_uk, s.rank_region
FROM indicator_summary s
JOIN area_member m ON m.member_code = s.geography_code
JOIN area_role r ON r.code = m.composite_code AND r.role = 'focus'
JOIN area a ON a.code = s.geography_code
WHERE s.indicator_id = 'claimant_rate'
ORDER BY s.value DESC NULLS LAST, a.name
