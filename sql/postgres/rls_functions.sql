-- Functions behind the row-level security policies of `grantmirror rls enable`,
-- created (or replaced) in the mirror's schema {{schema}} each time a policy is
-- installed. They read only the published contract: the access view (a
-- generation's rows and the local grants in force) and current.
--
-- They run with the privileges of whoever reads the guarded table, so a reading
-- role needs USAGE on {{schema}} and SELECT on its access and current views, as it
-- would to use the query builder. rls_denied alone runs with the rights of the
-- role that installs the policy, which Enable checks can read row_policies and
-- memberships, so that readers need nothing more to be held to Snowflake's row
-- access policies.

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

-- The objects whose Snowflake row access policy does not admit the viewer of
-- the transaction: the names, or with by_account each account, U+001F and the
-- name. A translated policy admits the viewers who hold one of its roles in its
-- account or are one of its people; an untranslated one admits everyone when its
-- fallback is allow, nobody otherwise. Without by_account a policy in any
-- account denies the name, as the rows carry no account to tell them apart.
-- Both policy modes read it once per statement; in an account without row
-- access policies it is one descent of an empty index.
CREATE OR REPLACE FUNCTION {{schema}}.rls_denied(by_account boolean)
RETURNS text[]
LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    viewer text := {{schema}}.rls_viewer();
    denied text[];
BEGIN
    SELECT coalesce(array_agg(CASE WHEN by_account THEN p.account || E'\x1f' || p.object_name ELSE p.object_name END), '{}')
    INTO denied
    FROM {{schema}}.row_policies p
    WHERE NOT p.allow
      AND NOT coalesce(viewer = ANY (p.admit_emails), false)
      AND NOT EXISTS (SELECT 1
                      FROM {{schema}}.memberships m
                      WHERE m.email = viewer AND m.account = p.account AND m.role = ANY (p.admit_roles));
    RETURN denied;
END
$$;

-- The viewer's visible objects of one type and privilege, for the policy's
-- 'set' mode: the names, or with by_account each account, U+001F and the name,
-- without those a row access policy denies the viewer.
CREATE OR REPLACE FUNCTION {{schema}}.rls_objects(want_type text, want_privilege text, by_account boolean)
RETURNS text[]
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    denied text[] := {{schema}}.rls_denied(by_account);
    visible text[];
BEGIN
    SELECT coalesce(array_agg(o.key), '{}')
    INTO visible
    FROM (SELECT CASE WHEN by_account THEN a.account || E'\x1f' || a.object_name ELSE a.object_name END AS key
          FROM {{schema}}.access a
          WHERE a.email = {{schema}}.rls_viewer() AND a.object_type = want_type AND a.privilege = want_privilege) o
    WHERE o.key <> ALL (denied);
    RETURN visible;
END
$$;
