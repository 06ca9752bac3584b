WITH steps AS (
    SELECT unnest(map_keys(?::MAP(VARCHAR, INTEGER))) AS dataset,
           unnest(map_values(?::MAP(VARCHAR, INTEGER))) AS step
),
ordered AS (
    SELECT o.dataset, o.series, o.geography_code, o.period, o.period_date, s.step,
           lag(o.period) OVER w AS previous_period,
           date_diff('month', lag(o.period_date) OVER w, o.period_date) AS months
    FROM qc_current o JOIN steps s USING (dataset)
    WINDOW w AS (PARTITION BY o.dataset, o.series, o.geography_code ORDER BY o.period_date)
)
SELECT dataset, series, geography_code, previous_period, period,
       months // step - 1 AS periods_missing
FROM ordered
WHERE months > step
ORDER BY dataset, series, geography_code, period
