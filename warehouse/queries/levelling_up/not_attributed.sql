-- Levelling Up Fund awards credited to no council of the priority category list: bids led by a
-- combined authority or a county (their own codes), a county abolished since (its region), or a
-- council the list does not name (a Scottish, Welsh or Northern Irish council, or one created after
-- the list). One row per area and round, with the area's name as the warehouse or the file gives it.
WITH rounds(round, dataset, series) AS (
    VALUES ('round1', 'luf_round1_bids', 'luf_allocation_round1'),
           ('round2', 'luf_round2_bids', 'luf_allocation_round2'),
           ('round3', 'luf_allocations', 'luf_allocation_round3')
),
latest AS MATERIALIZED (FROM stg_observation_latest),
listed AS (
    SELECT DISTINCT geography_code FROM latest
    WHERE dataset = 'luf_priority_category' AND series = 'luf_priority_category'
      AND regexp_full_match(geography_code, 'E0[6-9][0-9]{6}') AND value IS NOT NULL
)
SELECT o.geography_code AS code, coalesce(a.name, o.geography_name, o.geography_code) AS name,
       r.round, o.value AS allocation
FROM rounds r
JOIN latest o ON o.dataset = r.dataset AND o.series = r.series
LEFT JOIN area a ON a.code = o.geography_code
WHERE o.geography_code NOT IN (SELECT geography_code FROM listed)
ORDER BY r.round, o.geography_code
