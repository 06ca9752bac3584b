INSERT INTO deliveries (edition, subscriber_id, status, attempts, message_id, last_error,
                        updated_at)
VALUES (?, ?, ?, COALESCE(?, 0), ?, ?, ?)
ON CONFLICT (edition, subscriber_id) DO UPDATE SET
    status = excluded.status,
    attempts = COALESCE(?, deliveries.attempts),
    message_id = COALESCE(excluded.message_id, deliveries.message_id),
    last_error = excluded.last_error,
    updated_at = excluded.updated_at
