-- The memberships of generation $1 of every Snowflake user one of the people
-- $2 holds one through: the people's own, and those of the same users filed
-- under other addresses. In the order read_memberships.sql reads.
WITH users AS (
    SELECT DISTINCT account, user_name
    FROM {{schema}}.membership_rows
    WHERE email = ANY($2::text[]) AND valid_from <= $1 AND valid_to > $1
)
SELECT m.account, m.email, m.user_name, m.role, m.path
FROM users u
JOIN {{schema}}.membership_rows m
  ON m.user_name = u.user_name AND m.account = u.account
WHERE m.valid_from <= $1 AND m.valid_to > $1
ORDER BY m.account, m.email, m.ord;
