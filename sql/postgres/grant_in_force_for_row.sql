-- The local grant in force, by the access view's clock, that already gives the
-- person the privilege, if any.
SELECT id, until
FROM {{schema}}.local_grants
WHERE email = $2 AND object_type = $3 AND object_name = $4 AND privilege = $5 AND account = $1
  AND revoked_at IS NULL AND until > {{schema}}.clock()
ORDER BY until DESC
LIMIT 1;
