INSERT INTO observation
SELECT s.dataset, s.series, s.geography_code, s.geography_name, s.period,
       CAST(s.period_date AS DATE), s.value, s.status, s.lower, s.upper, s.unit,
       $vintage_id
FROM staged_observation s
LEFT JOIN ({latest_for_dataset}) held
  USING (series, geography_code, period)
WHERE held.period IS NULL
   OR held.status IS DISTINCT FROM s.status
   OR held.value IS DISTINCT FROM s.value
   OR held.lower IS DISTINCT FROM s.lower
   OR held.upper IS DISTINCT FROM s.upper
