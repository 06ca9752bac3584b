SELECT dataset, series, geography_code, period, period_date, value, status, unit,
       CASE WHEN period IS NULL OR period = '' THEN 'no period'
            WHEN period_date IS NULL THEN 'no period_date'
            WHEN unit IS NULL OR unit = '' THEN 'no unit'
            WHEN status IS NULL OR status = '' THEN 'no status'
            WHEN NOT starts_with(period, strftime(period_date, '%Y'))
                 THEN 'period ' || period || ' disagrees with its date ' || period_date
            WHEN value IS NOT NULL AND NOT isfinite(value) THEN 'value is not a finite number'
       END AS problem
FROM qc_current
WHERE problem IS NOT NULL
ORDER BY ALL
