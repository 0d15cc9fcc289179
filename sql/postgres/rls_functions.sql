-- Functions behind the row-level security policies of `grantmirror rls enable`,
-- created (or replaced) in the mirror's schema {{schema}} each time a policy is
-- installed. They read only the published contract: the access view (a
-- generation's rows and the local grants in force) and current.
--
-- They run with the privileges of whoever reads the guarded table, so a reading
-- role needs USAGE on {{schema}} and SELECT on its access and current views, as it
-- would to use the query builder.

-- The viewer of the transaction, as the mirror spells addresses: trimmed and in
-- lower case; NULL when grantmirror.viewer is unset or empty. One expression
-- without a FROM, so the planner inlines it into the policy and the per-row
-- probe costs no function call.
CREATE OR REPLACE FUNCTION {{schema}}.rls_viewer() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT pg_catalog.lower(pg_catalog.btrim(NULLIF(pg_catalog.current_setting('grantmirror.viewer', true), ''))) $$;

-- The viewer's visible objects for one object type and privilege, as the keys of
-- a jsonb object, so that the policy tests a row with ? (a binary search over
-- the keys) instead of a probe into the mirror. A policy calls it in a scalar
-- subquery: Postgres evaluates it once per statement, as an InitPlan. PL/pgSQL,
-- not SQL, so that its statements are planned once per session rather than
-- once per statement that reads the guarded table.
--
--   '{}'  no viewer, or a stale mirror (the current generation's snapshot is
--         older than max_age, unknown, or there is no generation): no row
--         passes, and no probe runs;
--   NULL  the viewer holds more than set_limit rows of this type and privilege:
--         building the set would cost more than probing the mirror for the few
--         rows a page reads, so the policy falls back to the probe. Finding out
--         skips set_limit entries of the mirror's index, and builds nothing;
--   else  the set. With by_account, each key is account, U+001F, object name.
CREATE OR REPLACE FUNCTION {{schema}}.rls_visible(want_type text, want_privilege text, by_account boolean, max_age interval, set_limit integer)
RETURNS jsonb
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    viewer  text := {{schema}}.rls_viewer();
    visible jsonb;
BEGIN
    IF viewer IS NULL OR NOT EXISTS (SELECT 1 FROM {{schema}}.current c WHERE c.snapshot_at >= now() - max_age) THEN
        RETURN '{}';
    END IF;
    IF EXISTS (SELECT 1
               FROM {{schema}}.access a
               WHERE a.email = viewer AND a.object_type = want_type AND a.privilege = want_privilege
               OFFSET set_limit) THEN
        RETURN NULL;
    END IF;
    SELECT coalesce(jsonb_object_agg(CASE WHEN by_account THEN a.account || E'\x1f' || a.object_name ELSE a.object_name END, true), '{}')
    INTO visible
    FROM {{schema}}.access a
    WHERE a.email = viewer AND a.object_type = want_type AND a.privilege = want_privilege;
    RETURN visible;
END
$$;
