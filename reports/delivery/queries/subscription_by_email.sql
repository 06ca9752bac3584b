SELECT id, unsubscribed_at FROM subscribers WHERE email = ?
