-- One local grant; the last column says whether the access view counts it now.
SELECT id, account, email, object_type, object_name, privilege, granted_by, approver, reason,
       created_at, until, revoked_at, revoked_by, revoke_reason, expired_at,
       revoked_at IS NULL AND until > {{schema}}.clock()
FROM {{schema}}.local_grants
WHERE id = $1;
