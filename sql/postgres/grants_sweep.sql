-- Marks the local grants that ran out by $1 as expired, once each, and returns
-- them. They stopped counting in the access view at until; this only records it.
UPDATE {{schema}}.local_grants
SET expired_at = $1
WHERE revoked_at IS NULL AND expired_at IS NULL AND until <= $1
RETURNING id, account, email, object_type, object_name, privilege, granted_by, approver, reason,
          created_at, until, revoked_at, revoked_by, revoke_reason, expired_at,
          revoked_at IS NULL AND until > {{schema}}.clock();
