SELECT dataset, request_key, etag, last_modified, sha256, raw_path, confirmed_at
FROM (SELECT *, max(fetched_at) OVER (PARTITION BY dataset, request_key, sha256) AS confirmed_at
      FROM fetch_log)
WHERE status = 200
QUALIFY row_number() OVER (PARTITION BY dataset, request_key ORDER BY fetched_at DESC) = 1
