-- The rows of generation {{gen}} in grantmirror's row order; the "C" collation
-- makes ORDER BY compare bytes as Go does.
SELECT account, email, object_type, object_name, privilege
FROM {{schema}}.access_{{gen}}
ORDER BY account, email, object_type, object_name, privilege;
