SELECT email FROM subscribers WHERE ref = ?
