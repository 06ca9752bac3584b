WITH newest AS (
    SELECT dataset, max(load_seq) AS load_seq FROM vintage
    WHERE list_contains(?::VARCHAR[], dataset) GROUP BY dataset
),
held AS (
    SELECT o.dataset, o.series, o.geography_code, o.period, o.value
    FROM observation o JOIN vintage v ON v.vintage_id = o.vintage_id JOIN newest n ON n.dataset = o.dataset
    WHERE v.load_seq < n.load_seq AND o.value IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY o.dataset, o.series, o.geography_code, o.period
                               ORDER BY v.load_seq DESC) = 1
),
spread AS (
    SELECT dataset, series, count(*) AS held, coalesce(stddev_samp(value), 0) AS sd
    FROM held GROUP BY ALL
),
revised AS (
    SELECT h.dataset, h.series, h.geography_code, h.period, h.value AS old_value, o.value AS new_value
    FROM observation o JOIN vintage v ON v.vintage_id = o.vintage_id
    JOIN newest n ON n.dataset = o.dataset AND n.load_seq = v.load_seq
    JOIN held h ON h.dataset = o.dataset AND h.series = o.series
               AND h.geography_code = o.geography_code AND h.period = o.period
    JOIN spread s ON s.dataset = h.dataset AND s.series = h.series
    WHERE o.value IS NOT NULL
      AND abs(o.value - h.value) > greatest(s.sd, ? * abs(h.value))
)
SELECT s.dataset, s.series, s.held, s.sd, count(r.period) AS revised,
       arg_min(r.geography_code || ' ' || r.period || ': ' || r.old_value || ' -> ' || r.new_value,
               r.period) AS example
FROM spread s LEFT JOIN revised r USING (dataset, series)
GROUP BY ALL
ORDER BY s.dataset, s.series
