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

-- Whether the current generation was extracted from Snowflake less than max_age
-- ago. A mirror never published, or whose snapshot time is unknown, is stale.
CREATE OR REPLACE FUNCTION {{schema}}.rls_fresh(max_age interval) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT EXISTS (SELECT 1 FROM {{schema}}.current c WHERE c.snapshot_at >= now() - $1) $$;

-- The viewer's visible objects for one object type and privilege, as the keys of
-- a jsonb object, so that the policy tests a row with ? (a binary search over
-- the keys) instead of a probe into the mirror. A policy calls it in a scalar
-- subquery: Postgres evaluates it once per statement, as an InitPlan.
--
--   '{}'  no viewer, or a stale mirror: no row passes, and no probe runs;
--   NULL  the viewer holds more than set_limit rows of this type and privilege:
--         building the set would cost more than probing the mirror for the few
--         rows a page reads, so the policy falls back to the probe. Finding out
--         skips set_limit entries of the mirror's index, and builds nothing;
--   else  the set. With by_account, each key is account, U+001F, object name.
CREATE OR REPLACE FUNCTION {{schema}}.rls_visible(object_type text, privilege text, by_account boolean, max_age interval, set_limit integer)
RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT CASE
           WHEN NOT {{schema}}.rls_fresh($4) THEN '{}'::jsonb
           WHEN EXISTS (SELECT 1
                        FROM {{schema}}.access a
                        WHERE a.email = {{schema}}.rls_viewer()
                          AND a.object_type = $1
                          AND a.privilege = $2
                        OFFSET $5) THEN NULL
           ELSE (SELECT coalesce(jsonb_object_agg(CASE WHEN $3 THEN a.account || E'\x1f' || a.object_name ELSE a.object_name END, true), '{}'::jsonb)
                 FROM {{schema}}.access a
                 WHERE a.email = {{schema}}.rls_viewer()
                   AND a.object_type = $1
                   AND a.privilege = $2)
       END
$$;
