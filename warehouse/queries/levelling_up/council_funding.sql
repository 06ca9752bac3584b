-- Levelling Up Fund awards by English council against its priority category (round 2's list, 1 =
-- most need): one row per council the list names (E06-E09) and round (round1, round2, round3, and
-- total), with the awards to bids it led (none: 0; NULL if a listed bid has no value) and its
-- residents of all ages in force at the round (the latest mid-year estimate at or before it; for the
-- total, at the last round). Population is NULL where the warehouse has no estimate: the population
-- dataset is fetched for the area set's councils only.
WITH rounds(round, dataset, series) AS (
    VALUES ('round1', 'luf_round1_bids', 'luf_allocation_round1'),
           ('round2', 'luf_round2_bids', 'luf_allocation_round2'),
           ('round3', 'luf_allocations', 'luf_allocation_round3')
),
latest AS MATERIALIZED (FROM stg_observation_latest),
category AS (
    SELECT geography_code AS code, arg_max(geography_name, period_date) AS name,
           arg_max(value, period_date)::INTEGER AS category
    FROM latest
    WHERE dataset = 'luf_priority_category' AND series = 'luf_priority_category'
      AND regexp_full_match(geography_code, 'E0[6-9][0-9]{6}') AND value IS NOT NULL
    GROUP BY geography_code
),
award AS (
    SELECT r.round, o.geography_code AS code, o.period_date, o.value
    FROM rounds r JOIN latest o ON o.dataset = r.dataset AND o.series = r.series
),
round_date AS (SELECT round, min(period_date) AS period_date FROM award GROUP BY round),
population AS (
    SELECT geography_code, period_date, value FROM latest
    WHERE dataset = 'population' AND series = 'population_all_ages'
),
council_round AS (
    SELECT c.code, c.name, c.category, d.round, d.period_date,
           CASE WHEN a.code IS NULL THEN 0 ELSE a.value END AS allocation
    FROM category c
    CROSS JOIN round_date d
    LEFT JOIN award a ON a.code = c.code AND a.round = d.round
),
per_round AS (
    SELECT r.code, r.name, r.category, r.round, r.period_date, r.allocation, p.value AS population
    FROM council_round r
    ASOF LEFT JOIN population p ON p.geography_code = r.code AND r.period_date >= p.period_date
)
SELECT code, name, category, round, allocation, population FROM per_round
UNION ALL
SELECT code, any_value(name), any_value(category), 'total',
       CASE WHEN count(allocation) = count(*) THEN sum(allocation ORDER BY round) END,
       arg_max(population, period_date)
FROM per_round
GROUP BY code
ORDER BY code, round
