-- Requests as the session's person sees them: $1 is mine, to_approve or all.
SELECT id, account, email, object_type, object_name, privilege, extract(epoch FROM duration)::bigint, reason,
       requested_by, requested_via::text, approvers, status, created_at, decided_at, decided_by, decision_reason,
       grant_id, reviewed_at, reviewed_by, review_note
FROM {{schema}}.requests_list($1)
WHERE $2::bigint IS NULL OR id = $2;
