SELECT vintage_id FROM vintage
