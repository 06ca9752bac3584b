WITH latest AS (SELECT dataset, max(period_date) AS period_date FROM qc_current GROUP BY dataset),
covering AS (  -- series that hold any focus code at any time
    SELECT DISTINCT dataset, series FROM qc_current
    WHERE list_contains(?::VARCHAR[], geography_code)
      AND NOT list_contains(?::VARCHAR[], dataset)
),
expected AS (
    SELECT c.dataset, c.series, l.period_date, unnest(?::VARCHAR[]) AS geography_code
    FROM covering c JOIN latest l USING (dataset)
)
SELECT e.dataset, e.series,
       (SELECT any_value(period) FROM qc_current p
        WHERE p.dataset = e.dataset AND p.period_date = e.period_date) AS period,
       list(e.geography_code ORDER BY e.geography_code)
           FILTER (WHERE o.geography_code IS NULL) AS missing,
       count(o.geography_code) AS present
FROM expected e
LEFT JOIN qc_current o
  ON o.dataset = e.dataset AND o.series = e.series AND o.period_date = e.period_date
 AND o.geography_code = e.geography_code
GROUP BY e.dataset, e.series, e.period_date
ORDER BY e.dataset, e.series
