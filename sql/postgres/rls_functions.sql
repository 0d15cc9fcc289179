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

-- How the policy decides rows for the viewer of the transaction, one object
-- type and privilege. The policy calls it in a scalar subquery: Postgres
-- evaluates it once per statement, as an InitPlan. PL/pgSQL, not SQL, so that
-- its statements are planned once per session rather than once per statement
-- that reads the guarded table.
--
--   'none'   no viewer, or a stale mirror (the current generation's snapshot
--            is older than max_age, unknown, or there is no generation): no row
--            passes, and nothing else runs;
--   'set'    rows are matched against the viewer's visible objects
--            (rls_objects), which Postgres hashes once per statement;
--   'probe'  the viewer holds more than set_limit rows of this type and
--            privilege: each row is decided by one probe of the mirror's index.
--            Finding out skips set_limit index entries and builds nothing.
CREATE OR REPLACE FUNCTION {{schema}}.rls_mode(want_type text, want_privilege text, max_age interval, set_limit integer)
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    viewer text := {{schema}}.rls_viewer();
BEGIN
    IF viewer IS NULL OR NOT EXISTS (SELECT 1 FROM {{schema}}.current c WHERE c.snapshot_at >= now() - max_age) THEN
        RETURN 'none';
    END IF;
    IF EXISTS (SELECT 1
               FROM {{schema}}.access a
               WHERE a.email = viewer AND a.object_type = want_type AND a.privilege = want_privilege
               OFFSET set_limit) THEN
        RETURN 'probe';
    END IF;
    RETURN 'set';
END
$$;

-- The viewer's visible objects of one type and privilege, for the policy's
-- 'set' mode: the names, or with by_account each account, U+001F and the name.
CREATE OR REPLACE FUNCTION {{schema}}.rls_objects(want_type text, want_privilege text, by_account boolean)
RETURNS text[]
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    visible text[];
BEGIN
    SELECT coalesce(array_agg(CASE WHEN by_account THEN a.account || E'\x1f' || a.object_name ELSE a.object_name END), '{}')
    INTO visible
    FROM {{schema}}.access a
    WHERE a.email = {{schema}}.rls_viewer() AND a.object_type = want_type AND a.privilege = want_privilege;
    RETURN visible;
END
$$;
