-- Records that generation {{gen}} became current at $1, by a publish or a
-- rollback ($2), keeping its metadata for when the generation is pruned.
INSERT INTO {{schema}}.publications (generation, at, kind, meta)
SELECT number, $1, $2, meta
FROM {{schema}}.generations
WHERE number = {{gen}};
