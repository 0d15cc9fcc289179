-- Keeps the comparison of generations $1 and $2 (compare.sql) for the
-- revocation guard to count and the access history to record.
INSERT INTO pg_temp.gm_changes (account, email, object_type, object_name, privilege, added)
