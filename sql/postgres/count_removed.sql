-- Rows of the current generation {{prev}} missing from the new generation {{gen}}:
-- what the revocation guard weighs. It runs after guard_settings.sql.
SELECT count(*)
FROM {{schema}}.access_{{prev}} o
WHERE NOT EXISTS (
    SELECT 1 FROM {{schema}}.access_{{gen}} n
    WHERE n.email = o.email
      AND n.object_type = o.object_type
      AND n.object_name = o.object_name
      AND n.privilege = o.privilege
      AND n.account = o.account);
