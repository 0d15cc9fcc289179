-- The policy `grantmirror rls enable` installs on a product's table. Run in one
-- transaction after rls_functions.sql; every placeholder is filled with a name
-- read back from the catalog and quoted, a validated word, or an integer:
--   {{table}}      the table, schema-qualified
--   {{object}}     the row's canonical object name (a column, or parts joined)
--   {{account}}    the row's account column, or NULL::text
--   {{by_account}} true when the policy compares accounts
--   {{type}} {{privilege}} {{max_age}} {{set_limit}}
--
-- rls_mode, evaluated once per statement, chooses how rows are decided. In
-- 'set' mode a row passes when its object is among the viewer's visible objects,
-- which Postgres reads once and hashes (a hashed SubPlan): no probe of the
-- mirror per row. In 'probe' mode, for a viewer who sees too much for the set to
-- pay off, one probe of the mirror's index decides; OFFSET 0 keeps it a probe,
-- where Postgres would otherwise hash the whole visible set after all; the
-- objects a row access policy denies the viewer (rls_denied) are read once per
-- statement, as an InitPlan, and the probe skips them. In
-- 'none' mode (stale mirror, no viewer) nothing passes. A row without an object
-- (or account) matches nothing.
CREATE POLICY grantmirror_guard ON {{table}}
AS PERMISSIVE FOR SELECT TO PUBLIC
USING (
    CASE (SELECT {{schema}}.rls_mode('{{type}}', '{{privilege}}', '{{max_age}} seconds', {{set_limit}}))
        WHEN 'set' THEN
            (CASE WHEN {{by_account}} THEN {{account}} || E'\x1f' || ({{object}}) ELSE ({{object}}) END) COLLATE "C"
                IN (SELECT unnest({{schema}}.rls_objects('{{type}}', '{{privilege}}', {{by_account}})))
        WHEN 'probe' THEN
            EXISTS (SELECT 1
                    FROM {{schema}}.access gm__a
                    WHERE gm__a.email = {{schema}}.rls_viewer()
                      AND gm__a.object_type = '{{type}}'
                      AND gm__a.object_name = ({{object}}) COLLATE "C"
                      AND gm__a.privilege = '{{privilege}}'
                      AND (NOT {{by_account}} OR gm__a.account = {{account}} COLLATE "C")
                      AND (CASE WHEN {{by_account}} THEN gm__a.account || E'\x1f' || gm__a.object_name ELSE gm__a.object_name END)
                          <> ALL ((SELECT {{schema}}.rls_denied({{by_account}}))::text[])
                    OFFSET 0)
        ELSE false
    END
);

COMMENT ON POLICY grantmirror_guard ON {{table}} IS {{config}};

ALTER TABLE {{table}} ENABLE ROW LEVEL SECURITY;
