-- Generations whose tables or snapshot files exist without a row in generations:
-- a sync killed between load and publish, or refused and interrupted while
-- cleaning up. $1 is the bare schema name.
SELECT substring(c.relname FROM '[0-9]+$')::bigint AS generation
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1
  AND c.relkind = 'r'
  AND c.relname ~ '^(access|memberships|grants|masked|changes|people)_[0-9]+$'
  AND NOT EXISTS (
      SELECT 1 FROM {{schema}}.generations g
      WHERE g.number = substring(c.relname FROM '[0-9]+$')::bigint)
UNION
SELECT f.generation
FROM {{schema}}.snapshot_files f
WHERE NOT EXISTS (SELECT 1 FROM {{schema}}.generations g WHERE g.number = f.generation)
ORDER BY generation;
