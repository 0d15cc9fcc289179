-- Appends a run, or completes the record of a published run that its publish
-- wrote in the transaction that made the generation current (publish_run.sql),
-- so that each run has one record and a kill right after the commit still
-- leaves one.
WITH completed AS (
    UPDATE {{schema}}.runs
    SET started_at = $1, finished_at = $2, source = $4, snapshot_at = $5,
        rows = $7, added = $8, removed = $9, error = $10, input_digest = $11, completed = true
    WHERE NOT completed AND status = $3 AND $3 = 'published' AND generation = $6
    RETURNING id
)
INSERT INTO {{schema}}.runs
    (started_at, finished_at, status, source, snapshot_at, generation, rows, added, removed, error, input_digest)
SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11
WHERE NOT EXISTS (SELECT 1 FROM completed);
