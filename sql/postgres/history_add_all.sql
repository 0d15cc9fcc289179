-- Opens a history row for every row of generation {{gen}}, becoming current at $1
-- when no generation was current before it.
INSERT INTO {{schema}}.access_history
    (account, email, object_type, object_name, privilege, added_gen, added_at)
SELECT account, email, object_type, object_name, privilege, {{gen}}, $1
FROM {{schema}}.access_rows
WHERE valid_from <= {{gen}} AND valid_to > {{gen}};
