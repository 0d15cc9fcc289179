-- Records the grants that ran out and the requests left pending too long, by $2,
-- with $1 as the actor of their audit entries.
SELECT grants, requests FROM {{schema}}.expire($1, $2);
