-- The record of a published run, written by the publish in the transaction that
-- makes the generation current; record_run.sql completes it with what only the
-- caller knows (when the run started, its source).
INSERT INTO {{schema}}.runs
    (started_at, finished_at, status, source, snapshot_at, generation, rows, added, removed, completed)
VALUES ($1, $2, 'published', $3, $4, $5, $6, $7, $8, false);
