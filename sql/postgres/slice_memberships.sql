-- The memberships of generation $1 of every Snowflake user one of the people
-- $2 holds one through: the people's own, and those of the same users filed
-- under other addresses. In the order read_memberships.sql reads.
-- The users are probed one by one through the user index (OFFSET 0 keeps the
-- planner from flattening the lateral join): for a few hundred people it
-- otherwise estimates thousands of users and scans every membership.
WITH users AS (
    SELECT DISTINCT account, user_name
    FROM {{schema}}.membership_rows
    WHERE email = ANY($2::text[]) AND valid_from <= $1 AND valid_to > $1
)
SELECT m.account, m.email, m.user_name, m.role, m.path
FROM users u
CROSS JOIN LATERAL (
    SELECT account, email, user_name, role, path, ord
    FROM {{schema}}.membership_rows
    WHERE user_name = u.user_name AND account = u.account
      AND valid_from <= $1 AND valid_to > $1
    OFFSET 0
) m
ORDER BY m.account, m.email, m.ord;
