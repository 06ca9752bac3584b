INSERT INTO vintage (vintage_id, dataset, publisher, fetched_at, loaded_at, release_date, version, pages,
                     rows_received, rows_new)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)
