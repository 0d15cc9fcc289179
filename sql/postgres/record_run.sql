INSERT INTO {{schema}}.runs
    (started_at, finished_at, status, source, snapshot_at, generation, rows, added, removed, error)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10);
