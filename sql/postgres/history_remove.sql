-- Closes, at $1, the history rows of the rows of generation {{prev}} that
-- generation {{gen}}, becoming current, lacks: the other direction of
-- history_add.sql. The few rows found probe the open-row index.
UPDATE {{schema}}.access_history h
SET removed_gen = {{gen}}, removed_at = $1
FROM (
    SELECT o.account, o.email, o.object_type, o.object_name, o.privilege
    FROM {{schema}}.access_{{prev}} o
    WHERE NOT EXISTS (
        SELECT 1 FROM {{schema}}.access_{{gen}} n
        WHERE n.email = o.email
          AND n.object_type = o.object_type
          AND n.object_name = o.object_name
          AND n.privilege = o.privilege
          AND n.account = o.account)
) r
WHERE h.removed_at IS NULL
  AND h.email = r.email
  AND h.object_type = r.object_type
  AND h.object_name = r.object_name
  AND h.privilege = r.privilege
  AND h.account = r.account;
