-- Counts a failed attempt at notification $1, with its error.
UPDATE {{schema}}.webhook_outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1;
