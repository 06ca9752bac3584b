DELETE FROM subscribers WHERE email = ?
