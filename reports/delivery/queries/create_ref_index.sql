CREATE UNIQUE INDEX IF NOT EXISTS subscribers_ref ON subscribers (ref)
