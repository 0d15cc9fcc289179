-- The rows generation $2 adds to generation $1 (added) and those it removes (not
-- added), person by person in table order, each person's rows as their join
-- gives them, mostly in table order: the reader sorts what is not. A sort here
-- of a 1% change at 50,000 people (229,000 rows) spilled to disk and took a
-- quarter of the statement, which the publish, keeping the rows for the guard
-- and the history, paid for nothing. Only people whose access digests differ,
-- or who are in one generation only, are compared row by row, through the row
-- index that leads with email: two generations that differ little cost little.
-- A NULL digest (a generation from before digests) differs from everything.
WITH a AS (
    SELECT account, key, digest FROM {{schema}}.digests
    WHERE kind = 'access' AND valid_from <= $1 AND valid_to > $1
), b AS (
    SELECT account, key, digest FROM {{schema}}.digests
    WHERE kind = 'access' AND valid_from <= $2 AND valid_to > $2
), changed AS (
    SELECT coalesce(b.account, a.account) AS account, coalesce(b.key, a.key) AS email
    FROM a FULL JOIN b ON b.key = a.key AND b.account = a.account
    WHERE a.digest IS NULL OR b.digest IS NULL OR a.digest <> b.digest
    ORDER BY 1, 2
)
SELECT d.account, d.email, d.object_type, d.object_name, d.privilege, d.added
FROM changed c
CROSS JOIN LATERAL (
    SELECT coalesce(n.account, o.account)         AS account,
           coalesce(n.email, o.email)             AS email,
           coalesce(n.object_type, o.object_type) AS object_type,
           coalesce(n.object_name, o.object_name) AS object_name,
           coalesce(n.privilege, o.privilege)     AS privilege,
           o.email IS NULL                        AS added
    FROM (SELECT * FROM {{schema}}.access_rows
          WHERE email = c.email AND account = c.account AND valid_from <= $1 AND valid_to > $1) o
    FULL JOIN (SELECT * FROM {{schema}}.access_rows
               WHERE email = c.email AND account = c.account AND valid_from <= $2 AND valid_to > $2) n
      ON n.object_type = o.object_type
     AND n.object_name = o.object_name
     AND n.privilege = o.privilege
    WHERE o.email IS NULL OR n.email IS NULL
) d;
