-- The local grants of one person ($1) in force at $2, or, when $2 is NULL, those
-- the access view counts now (the view's own condition).
SELECT id, account, email, object_type, object_name, privilege, granted_by, approver, reason,
       created_at, until, revoked_at, revoked_by, revoke_reason, expired_at,
       revoked_at IS NULL AND until > {{schema}}.clock()
FROM {{schema}}.local_grants
WHERE email = $1
  AND CASE WHEN $2::timestamptz IS NULL
           THEN revoked_at IS NULL AND until > {{schema}}.clock()
           ELSE created_at <= $2 AND until > $2 AND (revoked_at IS NULL OR revoked_at > $2)
      END
ORDER BY id;
