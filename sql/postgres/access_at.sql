-- The published rows as they stood at $1, in grantmirror's row order.
SELECT account, email, object_type, object_name, privilege
FROM {{schema}}.access_history
WHERE added_at <= $1 AND (removed_at IS NULL OR removed_at > $1)
ORDER BY account, email, object_type, object_name, privilege;
