-- Writes, closed at $1, the history of each row generation {{gen}} removes
-- (stage_changes.sql) that has been present since the baseline without a row of
-- its own (history_baseline_rows, 00008_history_baseline.sql). Each is found by
-- a probe of the row index and one of the baseline index, under
-- history_settings.sql. The others removed have an open row in history_rows,
-- which history_remove.sql closes.
INSERT INTO {{schema}}.history_rows
    (account, email, object_type, object_name, privilege, added_gen, added_at, removed_gen, removed_at, baseline)
SELECT c.account, c.email, c.object_type, c.object_name, c.privilege, v.added_gen, v.added_at, {{gen}}, $1, true
FROM pg_temp.gm_changes c
JOIN {{schema}}.history_baseline_rows v
  ON v.email = c.email AND v.object_type = c.object_type AND v.object_name = c.object_name
 AND v.privilege = c.privilege AND v.account = c.account
WHERE NOT c.added;
