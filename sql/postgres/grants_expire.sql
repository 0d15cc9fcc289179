-- Records the grants that ran out and the requests left pending too long, by $2,
-- with $1 (empty: the database user) as the actor of their audit entries.
SELECT grants, requests FROM {{schema}}.expire(coalesce(nullif($1, ''), session_user::text), $2);
