-- The policy `grantmirror rls enable` installs on a product's table. Run in one
-- transaction after rls_functions.sql; every placeholder is filled with a name
-- read back from the catalog and quoted, a validated word, or an integer:
--   {{table}}      the table, schema-qualified
--   {{object}}     the row's canonical object name (a column, or parts joined)
--   {{account}}    the row's account column, or NULL::text
--   {{by_account}} true when the policy compares accounts
--   {{type}} {{privilege}} {{max_age}} {{set_limit}}
--
-- A row passes when its object is in the viewer's visible set, computed once per
-- statement; when the viewer sees too much for a set to pay off (rls_visible
-- returns NULL), one probe of the mirror's index decides. A row without an
-- object (or account) is looked up as '', which names nothing. OFFSET 0 keeps the probe a probe: without it Postgres
-- would hash the viewer's whole visible set, which is what the set limit avoids.
-- Stale mirror or no viewer: the set is empty and nothing passes.
CREATE POLICY grantmirror_guard ON {{table}}
AS PERMISSIVE FOR SELECT TO PUBLIC
USING (
    coalesce(
        (SELECT {{schema}}.rls_visible('{{type}}', '{{privilege}}', {{by_account}}, '{{max_age}} seconds', {{set_limit}}))
            ? coalesce(CASE WHEN {{by_account}} THEN {{account}} || E'\x1f' || ({{object}}) ELSE ({{object}}) END, ''),
        EXISTS (SELECT 1
                FROM {{schema}}.access gm__a
                WHERE gm__a.email = {{schema}}.rls_viewer()
                  AND gm__a.object_type = '{{type}}'
                  AND gm__a.object_name = ({{object}}) COLLATE "C"
                  AND gm__a.privilege = '{{privilege}}'
                  AND (NOT {{by_account}} OR gm__a.account = {{account}} COLLATE "C")
                OFFSET 0)
    )
);

COMMENT ON POLICY grantmirror_guard ON {{table}} IS {{config}};

ALTER TABLE {{table}} ENABLE ROW LEVEL SECURITY;
