-- Opens, at $1, a history row for each row generation {{gen}} adds
-- (compare_generations.sql).
INSERT INTO {{schema}}.access_history
    (account, email, object_type, object_name, privilege, added_gen, added_at)
SELECT account, email, object_type, object_name, privilege, {{gen}}, $1
FROM {{schema}}.changes_{{gen}}
WHERE added;
