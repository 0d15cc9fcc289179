-- Writes, closed at $1, the history of each row generation {{gen}} removes
-- (stage_changes.sql) that has been present since the baseline without a row of
-- its own (00008_history_baseline.sql): a row of the baseline generation with no
-- explicit baseline row yet. Each is found by a probe of the row index and one
-- of the baseline index, under history_settings.sql. The others removed have an
-- open row in history_rows, which history_remove.sql closes.
INSERT INTO {{schema}}.history_rows
    (account, email, object_type, object_name, privilege, added_gen, added_at, removed_gen, removed_at, baseline)
SELECT c.account, c.email, c.object_type, c.object_name, c.privilege, b.generation, b.at, {{gen}}, $1, true
FROM pg_temp.gm_changes c
CROSS JOIN {{schema}}.history_baseline b
WHERE NOT c.added
  AND EXISTS (
      SELECT 1 FROM {{schema}}.access_rows r
      WHERE r.email = c.email AND r.object_type = c.object_type AND r.object_name = c.object_name
        AND r.privilege = c.privilege AND r.account = c.account
        AND r.valid_from <= b.generation AND r.valid_to > b.generation)
  AND NOT EXISTS (
      SELECT 1 FROM {{schema}}.history_rows h
      WHERE h.baseline
        AND h.email = c.email AND h.object_type = c.object_type AND h.object_name = c.object_name
        AND h.privilege = c.privilege AND h.account = c.account);
