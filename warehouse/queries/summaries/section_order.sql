SELECT indicator_id FROM indicator ORDER BY list_position(?, section), indicator_id
