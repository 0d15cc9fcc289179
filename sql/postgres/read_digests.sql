-- The digests of every group of rows of generation $1 (digests in the third
-- migration): what a publish compares the new mirror with, group by group.
SELECT kind, account, key, digest
FROM {{schema}}.digests
WHERE valid_from <= $1 AND valid_to > $1;
