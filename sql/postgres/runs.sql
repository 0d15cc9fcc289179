-- The most recent runs, newest first; a NULL limit returns them all.
SELECT started_at, finished_at, status, source, snapshot_at, generation, rows, added, removed, error, input_digest
FROM {{schema}}.runs
ORDER BY id DESC
LIMIT $1;
