-- The latest value of every observation: the row from the most recently loaded vintage that holds it.
CREATE OR REPLACE VIEW stg_observation_latest AS
SELECT o.*, v.fetched_at, v.release_date, v.version
FROM observation o
JOIN vintage v USING (vintage_id)
QUALIFY row_number() OVER (
    PARTITION BY o.dataset, o.series, o.geography_code, o.period ORDER BY v.load_seq DESC) = 1;
