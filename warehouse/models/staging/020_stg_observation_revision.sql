-- Every revision: a value that replaced an earlier value of the same observation.
CREATE OR REPLACE VIEW stg_observation_revision AS
WITH ordered AS (
    SELECT o.*, v.load_seq, v.fetched_at, v.release_date, v.version,
           lag(o.value) OVER w AS previous_value,
           lag(o.status) OVER w AS previous_status,
           lag(o.vintage_id) OVER w AS previous_vintage_id,
           lag(v.fetched_at) OVER w AS previous_fetched_at
    FROM observation o JOIN vintage v USING (vintage_id)
    WINDOW w AS (PARTITION BY o.dataset, o.series, o.geography_code, o.period ORDER BY v.load_seq)
)
SELECT dataset, series, geography_code, period, period_date,
       previous_value AS old_value, value AS new_value,
       previous_status AS old_status, status AS new_status,
       previous_vintage_id AS old_vintage_id, vintage_id AS new_vintage_id,
       previous_fetched_at AS old_fetched_at, fetched_at AS revised_at,
       release_date, version
FROM ordered
WHERE previous_vintage_id IS NOT NULL;
