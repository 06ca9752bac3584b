-- Every indicator for every area and period: the publisher's own figure for areas it publishes,
-- and for composite areas (e.g. the WMCA) a figure computed from the members' numerators and
-- denominators. A composite is missing, never partial, when any member's input is missing.
CREATE OR REPLACE TABLE indicator_value AS
WITH published AS (
    SELECT i.indicator_id, o.geography_code, o.period, o.period_date, o.value,
           o.lower, o.upper, 'published' AS basis, o.vintage_id AS vintages
    FROM indicator i
    JOIN stg_observation_latest o ON o.dataset = i.dataset AND o.series = i.series
    JOIN area a ON a.code = o.geography_code AND NOT a.is_composite
),
member_count AS (
    SELECT composite_code, count(*) AS members FROM area_member GROUP BY composite_code
),
summed AS (
    SELECT i.indicator_id, m.composite_code AS geography_code, o.period,
           min(o.period_date) AS period_date,
           CASE WHEN count(o.value) = any_value(mc.members) THEN sum(o.value) END AS value,
           NULL::DOUBLE AS lower, NULL::DOUBLE AS upper, 'computed' AS basis,
           string_agg(DISTINCT o.vintage_id, ',' ORDER BY o.vintage_id) AS vintages
    FROM indicator i
    JOIN stg_observation_latest o ON o.dataset = i.dataset AND o.series = i.series
    JOIN area_member m ON m.member_code = o.geography_code
    JOIN member_count mc ON mc.composite_code = m.composite_code
    WHERE i.aggregation = 'sum'
    GROUP BY i.indicator_id, m.composite_code, o.period
),
ratio_inputs AS (
    SELECT i.indicator_id, i.scale, m.composite_code, m.member_code,
           n.period, n.period_date, n.value AS numerator, n.vintage_id AS numerator_vintage,
           i.denominator_dataset, i.denominator_series
    FROM indicator i
    JOIN area_member m ON TRUE
    JOIN stg_observation_latest n
      ON n.dataset = i.numerator_dataset AND n.series = i.numerator_series
     AND n.geography_code = m.member_code
    WHERE i.aggregation = 'ratio'
),
-- The denominator in force for a period: the latest one at or before it (e.g. the mid-year
-- population estimate of the same or an earlier year), as the publisher does for its own rates.
ratio_members AS (
    SELECT r.*, d.value AS denominator, d.vintage_id AS denominator_vintage
    FROM ratio_inputs r
    ASOF LEFT JOIN stg_observation_latest d
      ON d.dataset = r.denominator_dataset AND d.series = r.denominator_series
     AND d.geography_code = r.member_code AND r.period_date >= d.period_date
),
ratio AS (
    SELECT r.indicator_id, r.composite_code AS geography_code, r.period,
           min(r.period_date) AS period_date,
           CASE WHEN count(r.numerator) = any_value(mc.members)
                 AND count(r.denominator) = any_value(mc.members)
                THEN sum(r.numerator) / sum(r.denominator) * any_value(r.scale) END AS value,
           NULL::DOUBLE AS lower, NULL::DOUBLE AS upper, 'computed' AS basis,
           string_agg(DISTINCT r.numerator_vintage || ',' || coalesce(r.denominator_vintage, ''), ','
                      ORDER BY r.numerator_vintage || ',' || coalesce(r.denominator_vintage, ''))
               AS vintages
    FROM ratio_members r
    JOIN member_count mc ON mc.composite_code = r.composite_code
    GROUP BY r.indicator_id, r.composite_code, r.period
)
SELECT indicator_id, geography_code, period, period_date, value,
       CASE WHEN value IS NULL THEN 'missing' ELSE 'ok' END AS status,
       lower, upper, basis, vintages
FROM (
    SELECT * FROM published
    UNION ALL SELECT * FROM summed
    UNION ALL SELECT * FROM ratio
)
ORDER BY indicator_id, geography_code, period_date;
