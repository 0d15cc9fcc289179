-- Row access policies as the guards apply them. {{schema}} is replaced by the
-- quoted schema name before goose reads this file.
--
-- A sync publishes each Snowflake row access policy on an object as a masked row
-- with an empty column name and the policy's rule (JSON). row_policies reads those
-- rows of the current generation with the JSON taken apart, so that a guard's SQL
-- compares arrays and never parses JSON: a translated policy admits the viewers
-- who hold one of admit_roles (in the policy's account) or are one of
-- admit_emails; an untranslated one admits everyone when allow (its fallback is
-- "allow") and nobody otherwise. A row without a rule (published before policy
-- rules existed) admits nobody: the object had a row access policy, and what it
-- allows is unknown.
--
-- Guards read this view once per statement; the partial index keeps that one
-- descent of an empty index for accounts without row access policies, however
-- many masked columns and generations masked_rows holds.

-- +goose Up
CREATE INDEX masked_rows_row_policies ON {{schema}}.masked_rows (valid_from) WHERE column_name = '';

CREATE VIEW {{schema}}.row_policies AS
SELECT k.account,
       k.object_name,
       CASE WHEN r.translated THEN r.roles ELSE '{}' END AS admit_roles,
       CASE WHEN r.translated THEN r.emails ELSE '{}' END AS admit_emails,
       NOT r.translated AND r.fallback = 'allow' AS allow
FROM {{schema}}.masked_rows k
CROSS JOIN LATERAL (
    SELECT coalesce(j.rule ->> 'translated' = 'true', false) AS translated,
           coalesce(j.rule ->> 'fallback', '') AS fallback,
           CASE WHEN jsonb_typeof(j.rule -> 'roles') = 'array'
                THEN ARRAY(SELECT jsonb_array_elements_text(j.rule -> 'roles')) ELSE '{}' END::text[] AS roles,
           CASE WHEN jsonb_typeof(j.rule -> 'emails') = 'array'
                THEN ARRAY(SELECT jsonb_array_elements_text(j.rule -> 'emails')) ELSE '{}' END::text[] AS emails
    FROM (SELECT CASE WHEN k.rule <> '' THEN k.rule::jsonb END AS rule) j
) r
WHERE k.column_name = ''
  AND k.valid_from <= (SELECT c.generation FROM {{schema}}.current c)
  AND k.valid_to > (SELECT c.generation FROM {{schema}}.current c);

COMMENT ON VIEW {{schema}}.row_policies IS 'Objects with Snowflake row access policies and whom each admits: a viewer holding one of admit_roles in the account, one of admit_emails, or anyone when allow.';

-- +goose Down
DROP VIEW {{schema}}.row_policies;

DROP INDEX {{schema}}.masked_rows_row_policies;
