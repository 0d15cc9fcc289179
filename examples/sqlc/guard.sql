EXISTS (
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
