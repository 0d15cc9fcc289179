-- Kept generations, newest first.
SELECT g.number, g.published_at, g.snapshot_at, g.rows, g.added, g.removed, g.mode, g.accounts,
       coalesce(g.number = c.generation, false)
FROM {{schema}}.generations g
LEFT JOIN {{schema}}.current c ON true
ORDER BY g.number DESC;
