-- Every indicator for every area and period.
--   published: the publisher's own figure, for the areas it publishes (composites only where the
--              registry says the figure cannot be built from members: medians, means, indices);
--   own ratio: indicators the monitor computes itself, numerator over denominator for each area;
--   summed / composite ratio: composite areas (the WMCA, the 3-LEP area...) from their members'
--              numerators and denominators, never an average of rates. A composite is missing,
--              never partial, when any member's input is missing.
-- Denominators are taken as in force for the period: the latest one at or before it (e.g. the
-- mid-year population estimate of the same or an earlier year), as the publishers do.
-- Sums run in the members' code order: a sum of floating-point numbers depends on its order, and
-- the engine's parallel order varies from run to run, which changed the last digits of a composite's
-- figure between two builds of the same data.
CREATE OR REPLACE TABLE indicator_value AS
-- Read once: the staging view ranks every observation, and seven parts below read it.
WITH latest AS MATERIALIZED (FROM stg_observation_latest),
-- The series some indicator divides by: the as-of joins below sort only these, not every observation.
denominator AS (
    SELECT l.* FROM latest l
    WHERE (l.dataset, l.series) IN (SELECT (denominator_dataset, denominator_series) FROM indicator)
),
member_count AS (
    SELECT composite_code, count(*) AS members FROM area_member GROUP BY composite_code
),
published AS (
    SELECT i.indicator_id, o.geography_code, o.period, o.period_date, o.value,
           o.lower, o.upper, 'published' AS basis, o.vintage_id AS vintages
    FROM indicator i
    JOIN latest o ON o.dataset = i.dataset AND o.series = i.series
    JOIN area a ON a.code = o.geography_code
    WHERE NOT a.is_composite OR i.aggregation = 'published'
),
numerator AS (
    SELECT i.indicator_id, n.geography_code, n.period, n.period_date, n.value, n.vintage_id
    FROM indicator i
    JOIN latest n
      ON n.dataset = i.numerator_dataset AND n.series = i.numerator_series
    WHERE i.aggregation = 'ratio'
),
-- Where the publisher lists only areas that have some, an area with no row has none.
zero_numerator AS (
    SELECT p.indicator_id, a.code AS geography_code, p.period, p.period_date, 0.0 AS value,
           NULL AS vintage_id
    FROM (SELECT DISTINCT indicator_id, period, period_date FROM numerator) p
    JOIN indicator i USING (indicator_id)
    JOIN area a ON NOT a.is_composite AND list_contains(i.levels, a.level)
    WHERE i.absent_numerator_is_zero
      AND NOT EXISTS (SELECT 1 FROM numerator n WHERE n.indicator_id = p.indicator_id
                      AND n.geography_code = a.code AND n.period = p.period)
),
ratio_parts AS (
    SELECT i.indicator_id, i.scale, n.geography_code, n.period, n.period_date,
           n.value AS numerator, n.vintage_id AS numerator_vintage,
           i.denominator_dataset, i.denominator_series
    FROM (SELECT * FROM numerator UNION ALL SELECT * FROM zero_numerator) n
    JOIN indicator i USING (indicator_id)
    JOIN area a ON a.code = n.geography_code AND NOT a.is_composite
),
ratio_inputs AS (
    SELECT r.*, d.value AS denominator, d.vintage_id AS denominator_vintage
    FROM ratio_parts r
    ASOF LEFT JOIN denominator d
      ON d.dataset = r.denominator_dataset AND d.series = r.denominator_series
     AND d.geography_code = r.geography_code AND r.period_date >= d.period_date
),
own_ratio AS (
    SELECT r.indicator_id, r.geography_code, r.period, r.period_date,
           CASE WHEN r.denominator > 0 THEN r.numerator / r.denominator * r.scale END AS value,
           NULL::DOUBLE AS lower, NULL::DOUBLE AS upper, 'computed' AS basis,
           concat_ws(',', r.numerator_vintage, r.denominator_vintage) AS vintages
    FROM ratio_inputs r
    JOIN indicator i USING (indicator_id)
    WHERE i.dataset IS NULL
),
-- A member's published 95% half-width, where its survey gives one (APS).
member_interval AS (
    SELECT i.indicator_id, o.geography_code, o.period, (o.upper - o.lower) / 2 AS half_width
    FROM indicator i
    JOIN latest o ON o.dataset = i.dataset AND o.series = i.series
    WHERE i.aggregation = 'ratio' AND o.upper IS NOT NULL
),
composite_ratio AS (
    SELECT r.indicator_id, m.composite_code AS geography_code, r.period,
           min(r.period_date) AS period_date,
           CASE WHEN count(r.numerator) = any_value(mc.members)
                 AND count(r.denominator) = any_value(mc.members) AND sum(r.denominator ORDER BY r.geography_code) > 0
                THEN sum(r.numerator ORDER BY r.geography_code) / sum(r.denominator ORDER BY r.geography_code)
                     * any_value(r.scale) END AS value,
           -- A weighted mean of independent estimates: sqrt(sum((den_i * h_i)^2)) / sum(den_i).
           CASE WHEN count(mi.half_width) = any_value(mc.members) AND sum(r.denominator ORDER BY r.geography_code) > 0
                THEN sqrt(sum(power(r.denominator * mi.half_width, 2) ORDER BY r.geography_code))
                     / sum(r.denominator ORDER BY r.geography_code)
           END AS half_width,
           string_agg(DISTINCT concat_ws(',', r.numerator_vintage, r.denominator_vintage), ','
                      ORDER BY concat_ws(',', r.numerator_vintage, r.denominator_vintage)) AS vintages
    FROM ratio_inputs r
    JOIN area_member m ON m.member_code = r.geography_code
    JOIN member_count mc ON mc.composite_code = m.composite_code
    LEFT JOIN member_interval mi
      ON mi.indicator_id = r.indicator_id AND mi.geography_code = r.geography_code
     AND mi.period = r.period
    GROUP BY r.indicator_id, m.composite_code, r.period
),
-- Means (survey scores): the members' values weighted by the weight in force for the period.
weighted_inputs AS (
    SELECT i.indicator_id, m.composite_code, o.geography_code, o.period, o.period_date, o.value,
           (o.upper - o.lower) / 2 AS half_width, o.vintage_id, i.denominator_dataset,
           i.denominator_series
    FROM indicator i
    JOIN latest o ON o.dataset = i.dataset AND o.series = i.series
    JOIN area_member m ON m.member_code = o.geography_code
    WHERE i.aggregation = 'weighted_mean'
),
weighted AS (
    SELECT x.indicator_id, x.composite_code AS geography_code, x.period,
           min(x.period_date) AS period_date,
           CASE WHEN count(x.value) = any_value(mc.members) AND count(w.value) = any_value(mc.members)
                THEN sum(x.value * w.value ORDER BY x.geography_code) / sum(w.value ORDER BY x.geography_code)
           END AS value,
           CASE WHEN count(x.half_width) = any_value(mc.members) AND count(w.value) = any_value(mc.members)
                THEN sqrt(sum(power(w.value * x.half_width, 2) ORDER BY x.geography_code))
                     / sum(w.value ORDER BY x.geography_code) END AS half_width,
           string_agg(DISTINCT concat_ws(',', x.vintage_id, w.vintage_id), ','
                      ORDER BY concat_ws(',', x.vintage_id, w.vintage_id)) AS vintages
    FROM weighted_inputs x
    ASOF LEFT JOIN denominator w
      ON w.dataset = x.denominator_dataset AND w.series = x.denominator_series
     AND w.geography_code = x.geography_code AND x.period_date >= w.period_date
    JOIN member_count mc ON mc.composite_code = x.composite_code
    GROUP BY x.indicator_id, x.composite_code, x.period
),
summed AS (
    SELECT i.indicator_id, m.composite_code AS geography_code, o.period,
           min(o.period_date) AS period_date,
           CASE WHEN count(o.value) = any_value(mc.members) THEN sum(o.value ORDER BY o.geography_code) END AS value,
           NULL::DOUBLE AS lower, NULL::DOUBLE AS upper, 'computed' AS basis,
           string_agg(DISTINCT o.vintage_id, ',' ORDER BY o.vintage_id) AS vintages
    FROM indicator i
    JOIN latest o ON o.dataset = i.dataset AND o.series = i.series
    JOIN area_member m ON m.member_code = o.geography_code
    JOIN member_count mc ON mc.composite_code = m.composite_code
    WHERE i.aggregation = 'sum'
    GROUP BY i.indicator_id, m.composite_code, o.period
)
SELECT indicator_id, geography_code, period, period_date, value,
       CASE WHEN value IS NULL THEN 'missing' ELSE 'ok' END AS status,
       lower, upper, basis, vintages
FROM (
    SELECT * FROM published
    UNION ALL SELECT * FROM own_ratio
    UNION ALL SELECT * FROM summed
    UNION ALL
    SELECT indicator_id, geography_code, period, period_date, value,
           value - half_width, value + half_width, 'computed', vintages
    FROM (SELECT * FROM composite_ratio UNION ALL SELECT * FROM weighted)
)
ORDER BY indicator_id, geography_code, period_date;
