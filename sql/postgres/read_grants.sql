-- The grants of generation $1, grouped by role in key order, each role's in the
-- order the mirror listed them (flatten lists them so).
SELECT account, role, object_type, object_name, privilege, via
FROM {{schema}}.grant_rows
WHERE valid_from <= $1 AND valid_to > $1
ORDER BY account, role, ord;
