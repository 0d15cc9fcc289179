-- The snapshot parts of generation $1 a question needs: every account's core and
-- the parts named by $2 (every part when $2 is NULL).
SELECT p.account, p.key, b.content
FROM {{schema}}.snapshot_parts p
JOIN {{schema}}.snapshot_blobs b ON b.digest = p.digest
WHERE p.generation = $1
  AND ($2::text[] IS NULL OR p.key = 'core' OR p.key = ANY($2))
ORDER BY p.account, p.key;
