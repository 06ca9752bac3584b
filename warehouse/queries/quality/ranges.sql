SELECT dataset, series, geography_code, period, value, unit
FROM qc_current
WHERE value IS NOT NULL AND (
      (unit = 'percent' AND ends_with(series, '_rate')
       AND NOT list_bool_or([series LIKE p FOR p IN ?::VARCHAR[]])
       AND (value < 0 OR value > 100))
   OR (unit = 'count' AND value < 0))
ORDER BY dataset, series, geography_code, period
