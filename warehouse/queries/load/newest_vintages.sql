    WITH newest AS (
        SELECT dataset, arg_max(vintage_id, load_seq) AS vintage_id FROM vintage
        WHERE $dataset IS NULL OR dataset = $dataset GROUP BY dataset
    )
    SELECT n.dataset, n.vintage_id, list(DISTINCT f.sha256)
    FROM newest n JOIN fetch_log f USING (vintage_id)
    GROUP BY ALL
