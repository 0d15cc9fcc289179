-- Appends one audit entry. An empty actor stands for the database user.
INSERT INTO {{schema}}.audit (at, actor, action, target, reason, details)
VALUES ($1, coalesce(nullif($2, ''), session_user), $3, $4, $5, $6);
