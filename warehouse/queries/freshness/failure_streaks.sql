WITH last_ok AS (
    SELECT dataset, max(attempted_at) FILTER (WHERE outcome <> 'failed') AS last_ok
    FROM dataset_run GROUP BY dataset
)
SELECT r.dataset, count(*) AS failures_in_a_row
FROM dataset_run r JOIN last_ok USING (dataset)
WHERE r.outcome = 'failed' AND (last_ok.last_ok IS NULL OR r.attempted_at > last_ok.last_ok)
GROUP BY r.dataset
