SELECT v.dataset, v.publisher, v.vintage_id, v.fetched_at, v.release_date, v.version,
       (SELECT f.url FROM fetch_log f WHERE f.vintage_id = v.vintage_id ORDER BY f.page LIMIT 1),
       -- The dataset's newest period: where a publisher revises its newest month (a flash estimate).
       (SELECT max(o.period_date) FROM observation o WHERE o.dataset = v.dataset)
FROM vintage v
QUALIFY row_number() OVER (PARTITION BY v.dataset ORDER BY v.load_seq DESC) = 1
