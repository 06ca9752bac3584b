WITH latest_rows AS (
    SELECT dataset, count(*) AS rows, max(period_date) AS latest_date,
           arg_max(period, period_date) AS latest_period
    FROM (
        SELECT o.dataset, o.period, o.period_date
        FROM observation o JOIN vintage v USING (vintage_id)
        QUALIFY row_number() OVER (PARTITION BY o.dataset, o.series, o.geography_code, o.period
                                   ORDER BY v.load_seq DESC) = 1
    )
    GROUP BY dataset
),
runs AS (
    SELECT dataset,
           arg_max(outcome, attempted_at) AS last_outcome,
           max(attempted_at) AS last_attempt,
           max(attempted_at) FILTER (WHERE outcome <> 'failed') AS last_success,
           arg_max(error, attempted_at) FILTER (WHERE outcome = 'failed') AS last_error
    FROM dataset_run GROUP BY dataset
),
fetches AS (SELECT dataset, max(fetched_at) AS last_fetched FROM fetch_log GROUP BY dataset),
changes AS (
    SELECT dataset, max(loaded_at) AS last_changed, arg_max(version, loaded_at) AS version,
           arg_max(release_date, loaded_at) AS release_date
    FROM vintage GROUP BY dataset
)
SELECT d.dataset, f.last_fetched, r.last_success, c.last_changed, c.version, c.release_date,
       l.latest_period, coalesce(l.rows, 0) AS rows,
       coalesce(r.last_outcome, 'never run') AS status, r.last_error
FROM (SELECT unnest(?::VARCHAR[]) AS dataset) d
LEFT JOIN latest_rows l USING (dataset)
LEFT JOIN runs r USING (dataset)
LEFT JOIN fetches f USING (dataset)
LEFT JOIN changes c USING (dataset)
