-- Makes generation $1 the one the views select. It runs in the publish (or
-- rollback) transaction: readers see the old generation until it commits and
-- the new one after, never a mix, and a reader's snapshot, taken before or
-- after, sees current and the rows it names together.
INSERT INTO {{schema}}.current (generation, published_at, snapshot_at)
SELECT number, published_at, snapshot_at
FROM {{schema}}.generations
WHERE number = $1
ON CONFLICT ((true)) DO UPDATE
SET generation = EXCLUDED.generation, published_at = EXCLUDED.published_at, snapshot_at = EXCLUDED.snapshot_at;
