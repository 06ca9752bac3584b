SELECT i.indicator_id, r.geography_code, r.period, r.old_value, r.new_value, r.revised_at,
       r.release_date, r.version
FROM stg_observation_revision r
JOIN indicator i ON i.dataset = r.dataset AND i.series = r.series
WHERE r.geography_code IN (SELECT unnest(?::VARCHAR[])) AND r.revised_at > ?
  AND r.old_value IS DISTINCT FROM r.new_value
ORDER BY list_position(?, i.section), i.indicator_id, r.geography_code, r.period
