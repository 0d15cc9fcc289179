UPDATE {{schema}}.local_grants
SET revoked_at = $2, revoked_by = $3, revoke_reason = $4
WHERE id = $1
RETURNING id, account, email, object_type, object_name, privilege, granted_by, approver, reason,
          created_at, until, revoked_at, revoked_by, revoke_reason, expired_at,
          revoked_at IS NULL AND until > {{schema}}.clock();
