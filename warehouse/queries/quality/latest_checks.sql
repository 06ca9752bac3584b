WITH runs AS (
    SELECT dataset, arg_max(run_id, checked_at) AS run_id FROM quality_check GROUP BY dataset
)
SELECT q.run_id, q.checked_at, q.dataset, q."check", q.severity, q.passed, q.detail, q.rows_affected
FROM quality_check q JOIN runs r USING (dataset, run_id)
ORDER BY q.dataset, list_position(['blocker', 'error', 'warning', 'info'], q.severity), q."check"
