UPDATE subscribers SET unsubscribed_at = NULL, areas = ?, subscribed_at = ? WHERE id = ?
