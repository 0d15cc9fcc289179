-- The grants of generation $1 on the objects $2, in the order read_grants.sql
-- reads.
SELECT account, role, object_type, object_name, privilege, via
FROM {{schema}}.grant_rows
WHERE object_name = ANY($2) AND valid_from <= $1 AND valid_to > $1
ORDER BY account, role, ord;
