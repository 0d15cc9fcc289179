-- Resolves a table name as typed ($1: app.events, events, "My Table") the way
-- Postgres would, search_path included: parse_ident refuses anything that is not
-- a plain, possibly qualified, identifier. Returns nothing for a missing table.
WITH name AS (SELECT parse_ident($1::text) AS parts)
SELECT c.oid, n.nspname::text, c.relname::text, c.relkind::text,
       pg_get_userbyid(c.relowner)::text, c.relrowsecurity, c.relforcerowsecurity
FROM name
JOIN pg_class c ON c.oid = CASE cardinality(name.parts)
        WHEN 1 THEN to_regclass(quote_ident(name.parts[1]))
        WHEN 2 THEN to_regclass(quote_ident(name.parts[1]) || '.' || quote_ident(name.parts[2]))
     END
JOIN pg_namespace n ON n.oid = c.relnamespace;
