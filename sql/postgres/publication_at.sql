-- The publication in force at $1 (the latest at or before it), whether its
-- generation is still kept, the first publication and the history's horizon.
-- No row when nothing was published at all.
SELECT p.generation, p.at, p.meta,
       EXISTS (SELECT 1 FROM {{schema}}.generations g WHERE g.number = p.generation),
       f.at, h.complete_since
FROM (SELECT min(at) AS at FROM {{schema}}.publications) f
CROSS JOIN {{schema}}.history_horizon h
LEFT JOIN LATERAL (
    SELECT generation, at, meta
    FROM {{schema}}.publications
    WHERE at <= $1
    ORDER BY at DESC, id DESC
    LIMIT 1
) p ON true
WHERE f.at IS NOT NULL;
