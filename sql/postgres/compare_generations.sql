-- The rows generation {{gen}} adds to the current generation {{prev}} (added) and
-- the rows it removes (not added), kept in changes_{{gen}} for the revocation
-- guard to count and the access history to record. Both generations carry the
-- same unique index, so a merge full join reads each index once, in order, and
-- finds both directions of the anti-join in one pass; guard_settings.sql steers
-- the planner to it. Unlogged: the table lives only as long as the publish.
DROP TABLE IF EXISTS {{schema}}.changes_{{gen}};

CREATE UNLOGGED TABLE {{schema}}.changes_{{gen}} AS
SELECT coalesce(n.account, o.account)         AS account,
       coalesce(n.email, o.email)             AS email,
       coalesce(n.object_type, o.object_type) AS object_type,
       coalesce(n.object_name, o.object_name) AS object_name,
       coalesce(n.privilege, o.privilege)     AS privilege,
       o.email IS NULL                        AS added
FROM {{schema}}.access_{{prev}} o
FULL JOIN {{schema}}.access_{{gen}} n
  ON n.email = o.email
 AND n.object_type = o.object_type
 AND n.object_name = o.object_name
 AND n.privilege = o.privilege
 AND n.account = o.account
WHERE o.email IS NULL OR n.email IS NULL;
