SELECT * FROM subscribers ORDER BY id
