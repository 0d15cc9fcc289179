-- Claims up to $1 undelivered notifications nobody else holds, for $2.
UPDATE {{schema}}.webhook_outbox o
SET claimed_until = clock_timestamp() + $2::interval
WHERE o.id IN (SELECT id FROM {{schema}}.webhook_outbox
               WHERE delivered_at IS NULL AND (claimed_until IS NULL OR claimed_until < clock_timestamp())
               ORDER BY id
               LIMIT $1
               FOR UPDATE SKIP LOCKED)
RETURNING o.id, o.event, o.text, o.attempts;
