-- Blocks of saved segments only: data replayed from a write-ahead log is not in a block yet.
SELECT max(block_id) FROM pragma_storage_info(?) WHERE persistent AND block_id >= 0
