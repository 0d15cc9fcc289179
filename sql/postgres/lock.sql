-- The publish lock: taken without waiting, so that a second sync fails at once
-- instead of queueing behind a long one. Session-level, released by unlock.sql or
-- when the connection ends (a killed sync never leaves it behind).
SELECT pg_try_advisory_lock($1);
