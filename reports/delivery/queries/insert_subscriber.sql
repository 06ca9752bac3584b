INSERT INTO subscribers (email, areas, subscribed_at, ref) VALUES (?, ?, ?, ?)
