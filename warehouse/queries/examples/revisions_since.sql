SELECT dataset, series, geography_code, period, old_value, new_value,
       new_value - old_value AS revision, revised_at, release_date
FROM stg_observation_revision
WHERE revised_at >= TIMESTAMPTZ '2026-01-01 00:00:00+00'
ORDER BY revised_at DESC, dataset, series, geography_code, period
