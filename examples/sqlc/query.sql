-- Every query that reads app.events carries the guard of guard.sql verbatim, as
-- its own condition: the rows of the tables the viewer may SELECT, and none at
-- all when the mirror's snapshot is older than max_staleness_seconds.

-- name: ListEvents :many
SELECT e.id, e.table_name, e.payload
FROM app.events e
WHERE EXISTS (
    SELECT 1
    FROM grantmirror.access gm_a
    WHERE gm_a.email = lower(@viewer::text)
      AND gm_a.object_type = 'TABLE'
      AND gm_a.object_name = e.table_name COLLATE "C"
      AND gm_a.privilege = 'SELECT'
      AND EXISTS (SELECT 1
                  FROM grantmirror.current gm_c
                  WHERE gm_c.snapshot_at >= now() - make_interval(secs => @max_staleness_seconds::integer))
)
ORDER BY e.id DESC
LIMIT @page_size::integer;

-- name: GetEvent :one
SELECT e.id, e.table_name, e.payload
FROM app.events e
WHERE EXISTS (
    SELECT 1
    FROM grantmirror.access gm_a
    WHERE gm_a.email = lower(@viewer::text)
      AND gm_a.object_type = 'TABLE'
      AND gm_a.object_name = e.table_name COLLATE "C"
      AND gm_a.privilege = 'SELECT'
      AND EXISTS (SELECT 1
                  FROM grantmirror.current gm_c
                  WHERE gm_c.snapshot_at >= now() - make_interval(secs => @max_staleness_seconds::integer))
)
  AND e.id = @id::bigint;
