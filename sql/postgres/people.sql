-- The people generation $1 holds memberships for, in table order (bytewise,
-- as the columns are COLLATE "C").
SELECT DISTINCT account, email
FROM {{schema}}.membership_rows
WHERE valid_from <= $1 AND valid_to > $1
ORDER BY account, email;
