UPDATE subscribers SET unsubscribed_at = ? WHERE ref = ? AND unsubscribed_at IS NULL
