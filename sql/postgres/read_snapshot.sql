SELECT f.path, b.content
FROM {{schema}}.snapshot_files f
JOIN {{schema}}.snapshot_blobs b ON b.digest = f.digest
WHERE f.generation = $1
ORDER BY f.path;
