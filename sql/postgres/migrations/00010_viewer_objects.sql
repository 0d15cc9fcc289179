-- How many objects each person holds each privilege on, published with the
-- person's digest. {{schema}} is replaced by the quoted schema name before goose
-- reads this file.
--
-- A guarded read chooses its shape by how many objects the viewer sees: a few
-- hundred are read object by object, a few thousand are hashed once, more are
-- probed row by row. Counting them through the access view costs an index entry
-- per object, which every dense viewer would pay on every page; the count
-- published here costs one probe of the digests' index.
--
-- objects is {"TABLE": {"SELECT": 12, ...}, ...} for a person's access group, and
-- NULL for the other kinds. A generation's digest rows are shared with the
-- generations their person did not change in, like its rows, so the count is
-- kept, closed, pruned and rolled back with the digest and needs no statement of
-- its own.

-- +goose Up
ALTER TABLE {{schema}}.digests ADD COLUMN objects jsonb;

-- The newest generation's digests get their counts now; a generation published
-- before this migration and rolled back to has none: its viewers are counted
-- through the access view as before, or by their local grants alone when they
-- have some, which can choose a slower shape but never changes an answer.
UPDATE {{schema}}.digests d
SET objects = c.objects
FROM (
    SELECT account, email, jsonb_object_agg(object_type, privileges) AS objects
    FROM (
        SELECT account, email, object_type, jsonb_object_agg(privilege, n) AS privileges
        FROM (
            SELECT account, email, object_type, privilege, count(*) AS n
            FROM {{schema}}.access_rows
            WHERE valid_to = 9223372036854775807
            GROUP BY account, email, object_type, privilege
        ) p
        GROUP BY account, email, object_type
    ) t
    GROUP BY account, email
) c
WHERE d.kind = 'access' AND d.valid_to = 9223372036854775807
  AND d.account = c.account AND d.key = c.email;

-- One row per person, account, object type and privilege of the current
-- generation, with local grants in force counted on top: at least as many as the
-- objects the access view lists for them (a local grant of an object the mirror
-- grants too is counted twice). A person with no row has no count, not a count of
-- zero: a reader then counts the access view itself.
CREATE VIEW {{schema}}.viewer_objects AS
SELECT d.account, d.key AS email, t.key::text COLLATE "C" AS object_type,
       p.key::text COLLATE "C" AS privilege, p.value::bigint AS objects
FROM {{schema}}.digests d
CROSS JOIN LATERAL jsonb_each(d.objects) t
CROSS JOIN LATERAL jsonb_each_text(t.value) p
WHERE d.kind = 'access'
  AND d.valid_from <= (SELECT c.generation FROM {{schema}}.current c)
  AND d.valid_to > (SELECT c.generation FROM {{schema}}.current c)
UNION ALL
SELECT account, email, object_type, privilege, count(*)
FROM {{schema}}.local_grants
WHERE revoked_at IS NULL AND until > {{schema}}.clock()
GROUP BY account, email, object_type, privilege;

COMMENT ON VIEW {{schema}}.viewer_objects IS
    'At least how many objects of a type each person holds a privilege on in the current generation, local grants included; no row means not counted.';

-- +goose Down
DROP VIEW {{schema}}.viewer_objects;
ALTER TABLE {{schema}}.digests DROP COLUMN objects;
