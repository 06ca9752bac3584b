-- Each focus council's IMD rank of average score in IoD 2019 and IoD 2025 (1 = most deprived).
WITH latest AS MATERIALIZED (FROM stg_observation_latest),
ranks AS (
    SELECT dataset, geography_code, value FROM latest
    WHERE (dataset, series) IN (('imd_2019_lad', 'imd_rank_of_average_score'),
                                ('imd_2025_lad', 'imd_2025_rank_of_average_score'))
),
members AS (
    SELECT m.member_code AS code FROM area_role r
    JOIN area_member m ON m.composite_code = r.code
    WHERE r.role = 'focus'
)
SELECT m.code, a.name, r19.value::INTEGER AS rank_2019, r25.value::INTEGER AS rank_2025
FROM members m
JOIN area a ON a.code = m.code
LEFT JOIN ranks r19 ON r19.geography_code = m.code AND r19.dataset = 'imd_2019_lad'
LEFT JOIN ranks r25 ON r25.geography_code = m.code AND r25.dataset = 'imd_2025_lad'
ORDER BY m.code
