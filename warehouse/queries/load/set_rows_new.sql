UPDATE vintage SET rows_new = ? WHERE vintage_id = ?
