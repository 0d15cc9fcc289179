SELECT g.number, g.published_at, g.snapshot_at, g.rows, g.added, g.removed, g.mode, g.accounts, true
FROM {{schema}}.current c
JOIN {{schema}}.generations g ON g.number = c.generation;
