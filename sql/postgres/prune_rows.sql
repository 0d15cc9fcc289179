-- Deletes the closed rows that no kept generation holds any more, once
-- prune_generations.sql forgot their generations. An open row (valid_to at its
-- maximum) is in the newest generation, which is kept unless prune_newer.sql
-- deals with it; the closed rows are the few a publish removed, found through
-- the partial indexes on valid_to.
DELETE FROM {{schema}}.access_rows r
WHERE r.valid_to < 9223372036854775807
  AND NOT EXISTS (SELECT 1 FROM {{schema}}.generations g WHERE g.number >= r.valid_from AND g.number < r.valid_to);

DELETE FROM {{schema}}.membership_rows r
WHERE r.valid_to < 9223372036854775807
  AND NOT EXISTS (SELECT 1 FROM {{schema}}.generations g WHERE g.number >= r.valid_from AND g.number < r.valid_to);

DELETE FROM {{schema}}.grant_rows r
WHERE r.valid_to < 9223372036854775807
  AND NOT EXISTS (SELECT 1 FROM {{schema}}.generations g WHERE g.number >= r.valid_from AND g.number < r.valid_to);

DELETE FROM {{schema}}.masked_rows r
WHERE r.valid_to < 9223372036854775807
  AND NOT EXISTS (SELECT 1 FROM {{schema}}.generations g WHERE g.number >= r.valid_from AND g.number < r.valid_to);

DELETE FROM {{schema}}.digests r
WHERE r.valid_to < 9223372036854775807
  AND NOT EXISTS (SELECT 1 FROM {{schema}}.generations g WHERE g.number >= r.valid_from AND g.number < r.valid_to);
