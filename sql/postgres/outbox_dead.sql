-- Moves notification $1, after its last failed attempt, to the dead letters.
WITH dead AS (
    DELETE FROM {{schema}}.webhook_outbox WHERE id = $1 RETURNING *
)
INSERT INTO {{schema}}.webhook_dead (id, event, request_id, text, created_at, attempts, last_error, dead_at)
SELECT id, event, request_id, text, created_at, attempts, last_error, clock_timestamp() FROM dead;
