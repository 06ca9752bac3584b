-- The Levelling Up mission indicators' whole series, with intervals, for the focus area, its
-- region, England and the UK: the scorecard's gap since the White Paper baseline needs periods
-- before the charts' start.
SELECT v.indicator_id, v.geography_code, v.period, v.period_date, v.value, v.lower, v.upper
FROM indicator_value v
JOIN indicator i USING (indicator_id)
WHERE i.mission IS NOT NULL AND v.geography_code IN (SELECT unnest(?::VARCHAR[])) AND v.period_date <= ?
ORDER BY v.indicator_id, v.geography_code, v.period_date
