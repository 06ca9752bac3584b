    SELECT o.*
    FROM observation o JOIN vintage v USING (vintage_id)
    WHERE o.dataset = $dataset
    QUALIFY row_number() OVER (
        PARTITION BY o.series, o.geography_code, o.period ORDER BY v.load_seq DESC) = 1
