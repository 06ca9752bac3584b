SELECT * FROM subscribers WHERE unsubscribed_at IS NULL ORDER BY id
