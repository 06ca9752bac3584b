SELECT d.*, s.email FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id
WHERE d.edition = ? ORDER BY d.edition DESC, d.subscriber_id
