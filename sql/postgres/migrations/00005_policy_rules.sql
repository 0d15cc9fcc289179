-- Policy rules with masked columns. {{schema}} is replaced by the quoted schema
-- name before goose reads this file.
--
-- Each masked row may carry the rule of the Snowflake policy behind it (JSON: who
-- the policy admits, or that it was not translated and what the fallback does),
-- so the query builder evaluates masking, row access and projection policies
-- against the viewer's roles. Rows of PII tags, and rows published before this
-- migration, have an empty rule.

-- +goose Up
ALTER TABLE {{schema}}.masked_rows ADD COLUMN rule text COLLATE "C" NOT NULL DEFAULT '';

CREATE OR REPLACE VIEW {{schema}}.masked_columns AS
SELECT k.account, k.object_name, k.column_name, k.reason, k.rule
FROM {{schema}}.masked_rows k
WHERE k.valid_from <= (SELECT c.generation FROM {{schema}}.current c)
  AND k.valid_to > (SELECT c.generation FROM {{schema}}.current c);

COMMENT ON VIEW {{schema}}.masked_columns IS 'Columns Snowflake masks or tags as PII, columns with projection policies and objects with row access policies; rule is the policy''s translated rule (JSON), empty for PII tags.';

-- +goose Down
DROP VIEW {{schema}}.masked_columns;

CREATE VIEW {{schema}}.masked_columns AS
SELECT k.account, k.object_name, k.column_name, k.reason
FROM {{schema}}.masked_rows k
WHERE k.valid_from <= (SELECT c.generation FROM {{schema}}.current c)
  AND k.valid_to > (SELECT c.generation FROM {{schema}}.current c);

ALTER TABLE {{schema}}.masked_rows DROP COLUMN rule;
