SELECT s.indicator_id AS indicator, i.title, s.geography_code AS area, a.name AS area_name,
       s.period, s.value, s.status, i.unit, i.decimals, s.lower, s.upper,
       s.previous_period, s.change_period, s.change_period_pct,
       s.year_ago_period, s.change_year, s.change_year_pct, s.change_since_feb2020,
       s.gap_england, s.gap_uk,
       CASE a.level WHEN 'region' THEN s.rank_region
                    WHEN 'country' THEN s.rank_region
                    WHEN 'combined_authority' THEN s.rank_combined_authority END AS rank,
       CASE a.level WHEN 'region' THEN s.regions_ranked
                    WHEN 'country' THEN s.regions_ranked
                    WHEN 'combined_authority' THEN s.combined_authorities_ranked END AS rank_of,
       s.significant_year, s.significant_gap_uk, s.basis, i.statistical_status, i.polarity
FROM indicator_summary s
JOIN indicator i USING (indicator_id)
JOIN area a ON a.code = s.geography_code
WHERE s.geography_code = ?
