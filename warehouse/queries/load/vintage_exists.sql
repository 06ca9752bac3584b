SELECT 1 FROM vintage WHERE vintage_id = ?
