-- Access over time and time-boxed local grants. {{schema}} is replaced by the
-- quoted schema name before goose reads this file.
--
-- publications and access_history answer "who could use what at moment T" long
-- after the generation that held the answer was pruned; local_grants adds rows
-- people grant by hand, for a while, on top of what Snowflake says; audit keeps
-- every publish, rollback and local-grant change with who did it and why.

-- +goose Up

-- Every moment the access view changed content: a publish, or a rollback that made
-- an older generation current again. at never goes backwards.
CREATE TABLE {{schema}}.publications (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    generation bigint NOT NULL,
    at         timestamptz NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('publish', 'rollback')),
    meta       jsonb NOT NULL
);

CREATE INDEX publications_at ON {{schema}}.publications (at, id);

COMMENT ON TABLE {{schema}}.publications IS
    'Each publish or rollback: from at on, generation was current. meta is the generation''s metadata, kept after the generation is pruned.';

-- The change log of the published rows. A row is present from added_at (when
-- generation added_gen became current) until removed_at (when removed_gen did),
-- or now when removed_at is NULL. The open rows are exactly the current
-- generation's rows: a publish or rollback adds and closes rows in the same
-- transaction that swaps the views.
CREATE TABLE {{schema}}.access_history (
    account     text COLLATE "C" NOT NULL,
    email       text COLLATE "C" NOT NULL,
    object_type text COLLATE "C" NOT NULL,
    object_name text COLLATE "C" NOT NULL,
    privilege   text COLLATE "C" NOT NULL,
    added_gen   bigint NOT NULL,
    added_at    timestamptz NOT NULL,
    removed_gen bigint,
    removed_at  timestamptz,
    CHECK ((removed_gen IS NULL) = (removed_at IS NULL))
);

-- At most one open row per published row; the closing update probes it.
CREATE UNIQUE INDEX access_history_open
    ON {{schema}}.access_history (email, object_type, object_name, privilege, account)
    WHERE removed_at IS NULL;

-- Retention deletes by removal time.
CREATE INDEX access_history_removed
    ON {{schema}}.access_history (removed_at)
    WHERE removed_at IS NOT NULL;

COMMENT ON TABLE {{schema}}.access_history IS
    'Published rows over time: present from added_at until removed_at (NULL: still present).';

-- One row: answers about moments before complete_since would miss rows that
-- retention deleted, or that were removed before history was recorded. NULL means
-- the history is complete since the first publication.
CREATE TABLE {{schema}}.history_horizon (
    complete_since timestamptz
);

CREATE UNIQUE INDEX history_horizon_one_row ON {{schema}}.history_horizon ((true));

INSERT INTO {{schema}}.history_horizon (complete_since) VALUES (NULL);

-- The clock local grants expire by: now(), unless the session sets
-- grantmirror.now, as tests do to stand at an exact second. A one-expression SQL
-- function, so the planner inlines it and the view's filter stays index-friendly.
-- +goose StatementBegin
CREATE FUNCTION {{schema}}.clock() RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT coalesce(nullif(current_setting('grantmirror.now', true), '')::timestamptz, now()) $$;
-- +goose StatementEnd

-- Access granted by hand for a while, on top of the mirror. Rows are never
-- deleted: revoked_* says who ended a grant early and why, expired_at when a sync
-- recorded that it ran out. The checks are the floor no configuration lowers:
-- never ownership, never a role.
CREATE TABLE {{schema}}.local_grants (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account       text COLLATE "C" NOT NULL,
    email         text COLLATE "C" NOT NULL,
    object_type   text COLLATE "C" NOT NULL,
    object_name   text COLLATE "C" NOT NULL,
    privilege     text COLLATE "C" NOT NULL,
    granted_by    text NOT NULL CHECK (granted_by <> ''),
    approver      text NOT NULL CHECK (approver <> ''),
    reason        text NOT NULL CHECK (reason <> ''),
    created_at    timestamptz NOT NULL,
    until         timestamptz NOT NULL,
    revoked_at    timestamptz,
    revoked_by    text,
    revoke_reason text,
    expired_at    timestamptz,
    CHECK (until > created_at),
    CHECK (privilege <> 'OWNERSHIP'),
    CHECK (object_type NOT IN ('ROLE', 'DATABASE_ROLE', 'APPLICATION_ROLE', 'INSTANCE_ROLE')),
    CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
);

-- The guard's lookup: the same leading columns as a generation's unique index,
-- over the grants not revoked, with until at hand for the expiry filter.
CREATE INDEX local_grants_active
    ON {{schema}}.local_grants (email, object_type, object_name, privilege, account)
    INCLUDE (until)
    WHERE revoked_at IS NULL;

COMMENT ON TABLE {{schema}}.local_grants IS
    'Access granted by hand until a moment, with who granted and approved it and why; the access view includes each grant while until > clock() and it is not revoked.';

CREATE TABLE {{schema}}.audit (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      timestamptz NOT NULL,
    actor   text NOT NULL,
    action  text NOT NULL,
    target  text NOT NULL,
    reason  text NOT NULL DEFAULT '',
    details jsonb NOT NULL DEFAULT '{}'
);

CREATE INDEX audit_at ON {{schema}}.audit (at);

COMMENT ON TABLE {{schema}}.audit IS
    'Every publish, rollback and local-grant add, revoke and expiry, with who did it and why.';

-- The access view becomes the current generation plus the active local grants.
-- A schema that already has a current generation starts its history there: the
-- rows of that generation are present from its publish on, and nothing earlier
-- is known.
-- +goose StatementBegin
DO $$
DECLARE
    gen bigint;
    pub timestamptz;
    src text := '(SELECT NULL::text COLLATE "C" AS account, NULL::text COLLATE "C" AS email, '
             || 'NULL::text COLLATE "C" AS object_type, NULL::text COLLATE "C" AS object_name, '
             || 'NULL::text COLLATE "C" AS privilege WHERE false)';
BEGIN
    SELECT c.generation, c.published_at INTO gen, pub FROM {{schema}}.current c;
    IF gen IS NOT NULL THEN
        src := format('{{schema}}.%I', 'access_' || gen);
        EXECUTE format('INSERT INTO {{schema}}.access_history '
                       '(account, email, object_type, object_name, privilege, added_gen, added_at) '
                       'SELECT account, email, object_type, object_name, privilege, %s, $1 FROM %s', gen, src)
            USING pub;
        INSERT INTO {{schema}}.publications (generation, at, kind, meta)
        SELECT number, pub, 'publish', meta FROM {{schema}}.generations WHERE number = gen;
        UPDATE {{schema}}.history_horizon SET complete_since = pub;
    END IF;
    EXECUTE 'CREATE OR REPLACE VIEW {{schema}}.access AS '
         || 'SELECT account, email, object_type, object_name, privilege FROM ' || src || ' g '
         || 'UNION ALL '
         || 'SELECT account, email, object_type, object_name, privilege FROM {{schema}}.local_grants '
         || 'WHERE revoked_at IS NULL AND until > {{schema}}.clock()';
END
$$;
-- +goose StatementEnd

COMMENT ON VIEW {{schema}}.access IS
    'Who may use which privilege on which Snowflake object: the current generation, one row per account, email, object and privilege, plus the local grants in force.';

-- +goose Down
-- +goose StatementBegin
DO $$
DECLARE
    gen bigint;
    src text := '(SELECT NULL::text COLLATE "C" AS account, NULL::text COLLATE "C" AS email, '
             || 'NULL::text COLLATE "C" AS object_type, NULL::text COLLATE "C" AS object_name, '
             || 'NULL::text COLLATE "C" AS privilege WHERE false)';
BEGIN
    SELECT c.generation INTO gen FROM {{schema}}.current c;
    IF gen IS NOT NULL THEN
        src := format('{{schema}}.%I', 'access_' || gen);
    END IF;
    EXECUTE 'CREATE OR REPLACE VIEW {{schema}}.access AS '
         || 'SELECT account, email, object_type, object_name, privilege FROM ' || src || ' g';
END
$$;
-- +goose StatementEnd

DROP TABLE {{schema}}.audit;
DROP TABLE {{schema}}.local_grants;
DROP FUNCTION {{schema}}.clock();
DROP TABLE {{schema}}.history_horizon;
DROP TABLE {{schema}}.access_history;
DROP TABLE {{schema}}.publications;
