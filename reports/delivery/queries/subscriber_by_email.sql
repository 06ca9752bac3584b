SELECT * FROM subscribers WHERE email = ?
