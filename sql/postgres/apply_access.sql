-- Makes the access rows of generation {{gen}} out of those of generation {{prev}},
-- the newest, for the people in gm_keys: their rows the new generation no
-- longer has are closed at {{gen}}, and their new rows (gm_stage) that the old
-- one did not have are inserted from {{gen}} on. Everyone else's rows are open
-- ranges already valid in {{prev}}, and so in {{gen}}: nothing is written for them.
UPDATE {{schema}}.access_rows a
SET valid_to = {{gen}}
FROM pg_temp.gm_keys k
WHERE k.kind = 'access'
  AND a.email = k.key
  AND a.account = k.account
  AND a.valid_from <= {{prev}} AND a.valid_to > {{prev}}
  AND NOT EXISTS (
      SELECT 1 FROM pg_temp.gm_stage s
      WHERE s.email = a.email AND s.object_type = a.object_type AND s.object_name = a.object_name
        AND s.privilege = a.privilege AND s.account = a.account);

INSERT INTO {{schema}}.access_rows (account, email, object_type, object_name, privilege, valid_from)
SELECT s.account, s.email, s.object_type, s.object_name, s.privilege, {{gen}}
FROM pg_temp.gm_stage s
WHERE NOT EXISTS (
    SELECT 1 FROM {{schema}}.access_rows a
    WHERE a.email = s.email AND a.object_type = s.object_type AND a.object_name = s.object_name
      AND a.privilege = s.privilege AND a.account = s.account
      AND a.valid_from <= {{prev}} AND a.valid_to > {{prev}});
