SELECT indicator_id, geography_code, period, period_date, value
FROM indicator_value
WHERE geography_code IN (SELECT unnest(?::VARCHAR[])) AND period_date BETWEEN ? AND ?
ORDER BY indicator_id, geography_code, period_date
