-- For each indicator and area: the latest period and its comparisons. Changes are absolute in the
-- indicator's unit (percentage points for rates) and, for counts and money, also per cent.
CREATE OR REPLACE TABLE indicator_summary AS
WITH latest AS (
    SELECT v.*
    FROM indicator_value v
    QUALIFY row_number() OVER (PARTITION BY indicator_id, geography_code
                               ORDER BY period_date DESC) = 1
),
roles AS (
    SELECT max(code) FILTER (WHERE role = 'england') AS england,
           max(code) FILTER (WHERE role = 'uk') AS uk
    FROM area_role
),
compared AS (
    SELECT l.indicator_id, l.geography_code, l.period, l.period_date, l.value, l.status,
           l.lower, l.upper, l.basis, l.vintages, i.unit, i.cadence,
           prev.period AS previous_period, prev.value AS previous_value,
           year_ago.period AS year_ago_period, year_ago.value AS year_ago_value,
           feb2020.value AS feb2020_value,
           eng.value AS england_value, uk.value AS uk_value
    FROM latest l
    JOIN indicator i USING (indicator_id)
    CROSS JOIN roles
    LEFT JOIN indicator_value prev
      ON prev.indicator_id = l.indicator_id AND prev.geography_code = l.geography_code
     AND prev.period_date = l.period_date - to_months(i.cadence_months)
    LEFT JOIN indicator_value year_ago
      ON year_ago.indicator_id = l.indicator_id AND year_ago.geography_code = l.geography_code
     AND year_ago.period_date = l.period_date - INTERVAL 12 MONTH
    LEFT JOIN indicator_value feb2020
      ON i.cadence = 'monthly' AND feb2020.indicator_id = l.indicator_id
     AND feb2020.geography_code = l.geography_code AND feb2020.period_date = DATE '2020-02-01'
    LEFT JOIN indicator_value eng
      ON eng.indicator_id = l.indicator_id AND eng.geography_code = roles.england
     AND eng.period_date = l.period_date
    LEFT JOIN indicator_value uk
      ON uk.indicator_id = l.indicator_id AND uk.geography_code = roles.uk
     AND uk.period_date = l.period_date
)
SELECT *,
       value - previous_value AS change_period,
       CASE WHEN unit IN ('count', 'gbp', 'index') AND previous_value <> 0
            THEN (value - previous_value) / previous_value * 100 END AS change_period_pct,
       value - year_ago_value AS change_year,
       CASE WHEN unit IN ('count', 'gbp', 'index') AND year_ago_value <> 0
            THEN (value - year_ago_value) / year_ago_value * 100 END AS change_year_pct,
       value - feb2020_value AS change_since_feb2020,
       value - england_value AS gap_england,
       value - uk_value AS gap_uk
FROM compared
ORDER BY indicator_id, geography_code;
