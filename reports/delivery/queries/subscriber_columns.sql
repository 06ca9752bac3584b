PRAGMA table_info(subscribers)
