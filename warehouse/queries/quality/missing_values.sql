SELECT dataset, series, geography_code, period, value, status
FROM qc_current
WHERE (value IS NULL) <> list_contains(?::VARCHAR[], status)
ORDER BY dataset, series, geography_code, period
