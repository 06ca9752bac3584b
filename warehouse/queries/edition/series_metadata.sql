-- What each publisher that describes its series (ONS Explore Local Statistics) says of them, as of
-- each dataset's newest vintage: the organisation that produced the statistics and its page.
SELECT m.dataset, m.series, m.source_org, m.source_url, m.experimental
FROM series_metadata m
WHERE m.vintage_id IN (
    SELECT vintage_id FROM vintage QUALIFY row_number() OVER (PARTITION BY dataset ORDER BY load_seq DESC) = 1
)
ORDER BY m.dataset, m.series
