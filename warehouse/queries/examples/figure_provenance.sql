WITH figure AS (
    SELECT indicator_id, geography_code, period, value,
           unnest(string_split(vintages, ',')) AS vintage_id
    FROM indicator_value
    WHERE indicator_id = 'claimant_rate' AND geography_code = 'E47000007'
      AND period_date = (SELECT max(period_date) FROM indicator_value
                         WHERE indicator_id = 'claimant_rate' AND geography_code = 'E47000007')
)
SELECT f.indicator_id, f.geography_code, f.period, f.value, v.dataset, v.publisher,
       v.release_date, l.page, l.status, l.url, l.sha256, l.raw_path, l.fetched_at
FROM figure f
JOIN vintage v USING (vintage_id)
JOIN fetch_log l USING (vintage_id)
ORDER BY v.dataset, l.page, l.fetched_at
