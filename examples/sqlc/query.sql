-- Every query that reads app.events carries the guard of guard.sql verbatim, as
-- its own condition: the rows of the tables the viewer may SELECT and whose
-- Snowflake row access policy (if any) admits the viewer, and none at all when
-- the mirror's snapshot is older than max_staleness_seconds.

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
      AND gm_a.object_name <> ALL (ARRAY(
          SELECT gm_r.object_name
          FROM grantmirror.row_policies gm_r
          WHERE NOT gm_r.allow
            AND NOT (lower(@viewer::text) = ANY (gm_r.admit_emails))
            AND NOT EXISTS (SELECT 1
                            FROM grantmirror.memberships gm_m
                            WHERE gm_m.email = lower(@viewer::text)
                              AND gm_m.account = gm_r.account
                              AND gm_m.role = ANY (gm_r.admit_roles))))
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
      AND gm_a.object_name <> ALL (ARRAY(
          SELECT gm_r.object_name
          FROM grantmirror.row_policies gm_r
          WHERE NOT gm_r.allow
            AND NOT (lower(@viewer::text) = ANY (gm_r.admit_emails))
            AND NOT EXISTS (SELECT 1
                            FROM grantmirror.memberships gm_m
                            WHERE gm_m.email = lower(@viewer::text)
                              AND gm_m.account = gm_r.account
                              AND gm_m.role = ANY (gm_r.admit_roles))))
      AND EXISTS (SELECT 1
                  FROM grantmirror.current gm_c
                  WHERE gm_c.snapshot_at >= now() - make_interval(secs => @max_staleness_seconds::integer))
)
  AND e.id = @id::bigint;
