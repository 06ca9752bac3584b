SELECT dataset, outcome, attempted_at, rows_new, error
FROM dataset_run
QUALIFY row_number() OVER (PARTITION BY dataset ORDER BY attempted_at DESC) = 1
ORDER BY dataset
