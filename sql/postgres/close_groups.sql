-- Closes at {{gen}} the memberships, grants and masked columns of generation
-- {{prev}}, the newest, whose group changed (gm_keys), and the digests of every
-- changed group. The publish then copies in the changed groups' new rows.
UPDATE {{schema}}.membership_rows m
SET valid_to = {{gen}}
FROM pg_temp.gm_keys k
WHERE k.kind = 'memberships' AND m.email = k.key AND m.account = k.account
  AND m.valid_from <= {{prev}} AND m.valid_to > {{prev}};

UPDATE {{schema}}.grant_rows g
SET valid_to = {{gen}}
FROM pg_temp.gm_keys k
WHERE k.kind = 'grants' AND g.account = k.account AND g.role = k.key
  AND g.valid_from <= {{prev}} AND g.valid_to > {{prev}};

UPDATE {{schema}}.masked_rows x
SET valid_to = {{gen}}
FROM pg_temp.gm_keys k
WHERE k.kind = 'masked' AND x.account = k.account
  AND x.valid_from <= {{prev}} AND x.valid_to > {{prev}};

UPDATE {{schema}}.digests d
SET valid_to = {{gen}}
FROM pg_temp.gm_keys k
WHERE d.kind = k.kind AND d.key = k.key AND d.account = k.account
  AND d.valid_from <= {{prev}} AND d.valid_to > {{prev}};
