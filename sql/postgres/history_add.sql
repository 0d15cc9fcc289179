-- Opens, at $1, a history row for each row generation {{gen}} adds
-- (stage_changes.sql).
INSERT INTO {{schema}}.history_rows
    (account, email, object_type, object_name, privilege, added_gen, added_at)
SELECT account, email, object_type, object_name, privilege, {{gen}}, $1
FROM pg_temp.gm_changes
WHERE added;
