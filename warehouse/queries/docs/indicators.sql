SELECT * FROM indicator ORDER BY indicator_id
