SELECT s.indicator_id, s.geography_code, s.period, s.value, s.lower, s.upper, s.previous_period,
       s.previous_value, s.change_period, s.change_period_pct, s.year_ago_period, s.change_year,
       s.change_year_pct, s.change_since_feb2020, s.england_value, s.uk_value, s.gap_england,
       s.gap_uk, s.significant_year, s.significant_gap_uk, s.basis, s.vintages
FROM {summary} s
WHERE s.geography_code IN (SELECT unnest(?::VARCHAR[]))
