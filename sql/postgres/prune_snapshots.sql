-- Deletes the snapshot files of generations no longer kept, and the contents no
-- kept file refers to.
DELETE FROM {{schema}}.snapshot_files f
WHERE NOT EXISTS (SELECT 1 FROM {{schema}}.generations g WHERE g.number = f.generation);

DELETE FROM {{schema}}.snapshot_blobs b
WHERE NOT EXISTS (SELECT 1 FROM {{schema}}.snapshot_files f WHERE f.digest = b.digest);
