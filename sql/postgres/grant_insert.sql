INSERT INTO {{schema}}.local_grants
    (account, email, object_type, object_name, privilege, granted_by, approver, reason, created_at, until)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
RETURNING id, account, email, object_type, object_name, privilege, granted_by, approver, reason,
          created_at, until, revoked_at, revoked_by, revoke_reason, expired_at,
          revoked_at IS NULL AND until > {{schema}}.clock();
