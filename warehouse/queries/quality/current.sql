CREATE OR REPLACE TEMP TABLE qc_current AS
SELECT o.dataset, o.series, o.geography_code, o.period, o.period_date, o.value, o.status, o.unit
FROM observation o JOIN vintage v USING (vintage_id)
WHERE list_contains(?::VARCHAR[], o.dataset)
QUALIFY row_number() OVER (PARTITION BY o.dataset, o.series, o.geography_code, o.period
                           ORDER BY v.load_seq DESC) = 1
