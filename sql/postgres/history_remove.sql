-- Closes, at $1, the open history row of each row generation {{gen}} removes
-- (stage_changes.sql), under history_settings.sql. Rows present since the
-- baseline have none; history_materialize.sql wrote theirs.
UPDATE {{schema}}.history_rows h
SET removed_gen = {{gen}}, removed_at = $1
FROM pg_temp.gm_changes c
WHERE NOT c.added
  AND h.removed_at IS NULL
  AND h.email = c.email
  AND h.object_type = c.object_type
  AND h.object_name = c.object_name
  AND h.privilege = c.privilege
  AND h.account = c.account;
