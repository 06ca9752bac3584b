WITH valued AS (
    SELECT dataset, series, geography_code, period, period_date, value, unit,
           lag(value) OVER w AS previous_value,
           value - lag(value) OVER w AS change,
           row_number() OVER (PARTITION BY dataset, series, geography_code ORDER BY period_date DESC) AS age
    FROM qc_current
    WHERE value IS NOT NULL
    WINDOW w AS (PARTITION BY dataset, series, geography_code ORDER BY period_date)
),
history AS (  -- the distribution of past period-on-period changes, the latest excluded
    SELECT dataset, series, geography_code, count(change) AS n, avg(change) AS mean,
           stddev_samp(change) AS sd
    FROM valued WHERE age > 1
    GROUP BY ALL
),
newest AS (  -- the latest change, only where the series' latest period has a value
    SELECT v.* FROM valued v
    WHERE v.age = 1 AND v.change IS NOT NULL
      AND v.period_date = (SELECT max(period_date) FROM qc_current c
                           WHERE c.dataset = v.dataset AND c.series = v.series
                             AND c.geography_code = v.geography_code)
)
SELECT n.dataset, n.series, n.geography_code, n.period, n.unit, n.previous_value, n.value, n.change,
       h.n AS history, h.mean, h.sd,
       CASE WHEN h.n >= ? AND greatest(h.sd, ? * abs(n.previous_value)) > 0
            THEN (n.change - h.mean) / greatest(h.sd, ? * abs(n.previous_value)) END AS z,
       CASE WHEN n.previous_value <> 0 THEN n.change / abs(n.previous_value) END AS relative
FROM newest n LEFT JOIN history h USING (dataset, series, geography_code)
ORDER BY n.dataset, n.series, n.geography_code
