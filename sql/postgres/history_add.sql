-- Opens a history row for each row of generation {{gen}}, becoming current at $1,
-- that the generation current until now, {{prev}}, lacks. Both tables carry the
-- same unique index, so this is a merge anti-join like count_removed.sql, under
-- the settings of guard_settings.sql.
INSERT INTO {{schema}}.access_history
    (account, email, object_type, object_name, privilege, added_gen, added_at)
SELECT n.account, n.email, n.object_type, n.object_name, n.privilege, {{gen}}, $1
FROM {{schema}}.access_{{gen}} n
WHERE NOT EXISTS (
    SELECT 1 FROM {{schema}}.access_{{prev}} o
    WHERE o.email = n.email
      AND o.object_type = n.object_type
      AND o.object_name = n.object_name
      AND o.privilege = n.privilege
      AND o.account = n.account);
