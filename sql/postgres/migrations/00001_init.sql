-- The published contract of a grantmirror schema. {{schema}} is replaced by the
-- quoted schema name before goose reads this file.
--
-- Each generation N lives in its own tables (access_N, memberships_N, grants_N,
-- masked_N). The views below always point at the current generation's tables; a
-- publish re-creates them in one short transaction. Until the first publish they
-- select nothing, with the same column types, so readers can be written and
-- tested against a freshly migrated schema.
--
-- Text columns use the "C" collation: comparisons are bytewise, index builds are
-- several times faster than under a linguistic collation, and the order of the
-- indexes is the order grantmirror sorts rows in.

-- +goose Up
CREATE TABLE {{schema}}.generations (
    number       bigint PRIMARY KEY,
    published_at timestamptz NOT NULL,
    snapshot_at  timestamptz,
    rows         bigint NOT NULL,
    added        bigint NOT NULL,
    removed      bigint NOT NULL,
    mode         text NOT NULL,
    accounts     text[] NOT NULL,
    meta         jsonb NOT NULL,
    excluded     jsonb NOT NULL
);

COMMENT ON TABLE {{schema}}.generations IS
    'Published generations grantmirror keeps for rollback, with their metadata (meta) and the users left out (excluded).';

CREATE TABLE {{schema}}.current (
    generation   bigint NOT NULL REFERENCES {{schema}}.generations (number),
    published_at timestamptz NOT NULL,
    snapshot_at  timestamptz
);

-- A unique index on a constant admits at most one row.
CREATE UNIQUE INDEX current_one_row ON {{schema}}.current ((true));

COMMENT ON TABLE {{schema}}.current IS
    'The generation the views point at, in one row; readers check published_at for staleness.';

CREATE TABLE {{schema}}.runs (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL,
    status      text NOT NULL,
    source      text NOT NULL,
    snapshot_at timestamptz,
    generation  bigint,
    rows        bigint NOT NULL,
    added       bigint NOT NULL,
    removed     bigint NOT NULL,
    error       text
);

COMMENT ON TABLE {{schema}}.runs IS 'Every sync, whatever its outcome.';

-- The snapshot files a generation was computed from, as pipeline.WriteSnapshot
-- writes them, so that explain and lint can replay it.
CREATE TABLE {{schema}}.snapshot_files (
    generation bigint NOT NULL,
    path       text NOT NULL,
    content    bytea NOT NULL,
    PRIMARY KEY (generation, path)
);

CREATE VIEW {{schema}}.access AS
SELECT NULL::text COLLATE "C" AS account,
       NULL::text COLLATE "C" AS email,
       NULL::text COLLATE "C" AS object_type,
       NULL::text COLLATE "C" AS object_name,
       NULL::text COLLATE "C" AS privilege
WHERE false;

COMMENT ON VIEW {{schema}}.access IS
    'Who may use which privilege on which Snowflake object: one row per account, email, object and privilege.';

CREATE VIEW {{schema}}.memberships AS
SELECT NULL::text COLLATE "C" AS account,
       NULL::text COLLATE "C" AS email,
       NULL::text COLLATE "C" AS role
WHERE false;

COMMENT ON VIEW {{schema}}.memberships IS 'Every role a person holds, directly or inherited.';

CREATE VIEW {{schema}}.provenance AS
SELECT NULL::text COLLATE "C" AS account,
       NULL::text COLLATE "C" AS email,
       NULL::text COLLATE "C" AS object_type,
       NULL::text COLLATE "C" AS object_name,
       NULL::text COLLATE "C" AS privilege,
       NULL::text COLLATE "C" AS user_name,
       NULL::text[] COLLATE "C" AS role_path,
       NULL::text COLLATE "C" AS via
WHERE false;

COMMENT ON VIEW {{schema}}.provenance IS
    'The role paths behind each access row: which user of the person holds which chain of roles, and whether the privilege comes from OWNERSHIP (via).';

CREATE VIEW {{schema}}.masked_columns AS
SELECT NULL::text COLLATE "C" AS account,
       NULL::text COLLATE "C" AS object_name,
       NULL::text COLLATE "C" AS column_name,
       NULL::text COLLATE "C" AS reason
WHERE false;

COMMENT ON VIEW {{schema}}.masked_columns IS 'Columns Snowflake masks or tags as PII.';

-- +goose Down
DROP VIEW {{schema}}.masked_columns;
DROP VIEW {{schema}}.provenance;
DROP VIEW {{schema}}.memberships;
DROP VIEW {{schema}}.access;

-- +goose StatementBegin
DO $$
DECLARE
    t regclass;
BEGIN
    FOR t IN
        SELECT c.oid::regclass
        FROM pg_class c
        WHERE c.relnamespace = '{{schema}}'::regnamespace
          AND c.relkind = 'r'
          AND c.relname ~ '^(access|memberships|grants|masked)_[0-9]+$'
    LOOP
        EXECUTE format('DROP TABLE %s', t);
    END LOOP;
END
$$;
-- +goose StatementEnd

DROP TABLE {{schema}}.snapshot_files;
DROP TABLE {{schema}}.runs;
DROP TABLE {{schema}}.current;
DROP TABLE {{schema}}.generations;
