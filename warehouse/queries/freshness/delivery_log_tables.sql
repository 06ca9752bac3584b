-- SQLite: the delivery log (reports.delivery.subscribers' store), not the warehouse.
SELECT name FROM sqlite_master WHERE type = 'table'
