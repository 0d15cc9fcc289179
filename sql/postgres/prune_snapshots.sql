-- Deletes the snapshot files and parts of generations no longer kept, and the
-- contents no kept file or part refers to.
DELETE FROM {{schema}}.snapshot_files f
WHERE NOT EXISTS (SELECT 1 FROM {{schema}}.generations g WHERE g.number = f.generation);

DELETE FROM {{schema}}.snapshot_parts p
WHERE NOT EXISTS (SELECT 1 FROM {{schema}}.generations g WHERE g.number = p.generation);

DELETE FROM {{schema}}.snapshot_blobs b
WHERE NOT EXISTS (SELECT 1 FROM {{schema}}.snapshot_files f WHERE f.digest = b.digest)
  AND NOT EXISTS (SELECT 1 FROM {{schema}}.snapshot_parts p WHERE p.digest = b.digest);
