UPDATE subscribers SET ref = ? WHERE id = ?
