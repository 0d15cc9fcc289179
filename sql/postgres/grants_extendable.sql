-- The approved grants in force at $1 that activity may extend: not sensitive, not
-- break-glass.
SELECT g.id, g.account, g.email, g.object_type, g.object_name, g.privilege, g.granted_by, g.approver, g.reason,
       g.created_at, g.until, g.revoked_at, g.revoked_by, g.revoke_reason, g.expired_at, true
FROM {{schema}}.local_grants g
JOIN {{schema}}.requests r ON r.grant_id = g.id AND r.status = 'approved'
WHERE g.revoked_at IS NULL AND g.expired_at IS NULL AND g.until > $1 AND NOT {{schema}}.is_sensitive(g.object_name)
ORDER BY g.id;
