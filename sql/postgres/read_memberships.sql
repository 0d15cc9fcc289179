-- The memberships of generation $1, grouped by person in key order, each
-- person's in the order the mirror listed them (flatten lists them so).
SELECT account, email, user_name, role, path
FROM {{schema}}.membership_rows
WHERE valid_from <= $1 AND valid_to > $1
ORDER BY account, email, ord;
