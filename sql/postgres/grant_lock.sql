-- Serializes changes to local grants for the rest of the transaction, so two
-- people cannot both add the same grant.
SELECT pg_advisory_xact_lock($1);
