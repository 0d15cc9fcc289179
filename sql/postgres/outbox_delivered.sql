UPDATE {{schema}}.webhook_outbox SET delivered_at = clock_timestamp(), claimed_until = NULL WHERE id = $1;
