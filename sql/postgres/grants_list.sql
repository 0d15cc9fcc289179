-- Local grants, oldest first: those the access view counts now, or all of them
-- when $1 is true. The last column says whether the view counts it.
SELECT id, account, email, object_type, object_name, privilege, granted_by, approver, reason,
       created_at, until, revoked_at, revoked_by, revoke_reason, expired_at,
       revoked_at IS NULL AND until > {{schema}}.clock()
FROM {{schema}}.local_grants
WHERE $1 OR (revoked_at IS NULL AND until > {{schema}}.clock())
ORDER BY id;
