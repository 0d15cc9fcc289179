EXISTS (
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
