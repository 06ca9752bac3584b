CREATE TABLE IF NOT EXISTS subscribers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    areas TEXT NOT NULL DEFAULT '',
    subscribed_at TEXT NOT NULL,
    unsubscribed_at TEXT,
    ref TEXT UNIQUE
);
CREATE TABLE IF NOT EXISTS deliveries (
    edition TEXT NOT NULL,
    subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('sent', 'failed', 'pending')),
    attempts INTEGER NOT NULL DEFAULT 0,
    message_id TEXT,
    last_error TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (edition, subscriber_id)
);
