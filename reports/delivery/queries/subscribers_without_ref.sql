SELECT id FROM subscribers WHERE ref IS NULL
