-- The rows of generation $1 in grantmirror's row order; the "C" collation makes
-- ORDER BY compare bytes as Go does.
SELECT account, email, object_type, object_name, privilege
FROM {{schema}}.access_rows
WHERE valid_from <= $1 AND valid_to > $1
ORDER BY account, email, object_type, object_name, privilege;
