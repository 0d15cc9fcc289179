-- Generations as ranges of rows. {{schema}} is replaced by the quoted schema name
-- before goose reads this file.
--
-- Until this migration every generation N had tables of its own (access_N,
-- memberships_N, grants_N, masked_N, people_N) and a publish re-created the views
-- on them. Now each kind of row has one table, and every row carries the
-- generations it belongs to as a half-open range of generation numbers:
-- valid_from <= N < valid_to (valid_to 9223372036854775807 while the row is in
-- the newest generation). A publish inserts the rows the new generation adds and
-- closes the ones it removes; the rows it keeps are shared with the generations
-- before it. The views select the rows of the generation named by current, so
-- a publish or a rollback changes what readers see by updating one row, with no
-- DDL: a reader's snapshot, at any isolation level, always holds one complete
-- generation, the old or the new.
--
-- The generations kept before the upgrade are converted as they are, each as
-- its own rows (they share nothing, and carry no digests: the first publish
-- after the upgrade compares everyone once). Their tables are dropped.

-- +goose Up

CREATE TABLE {{schema}}.access_rows (
    account     text COLLATE "C" NOT NULL,
    email       text COLLATE "C" NOT NULL,
    object_type text COLLATE "C" NOT NULL,
    object_name text COLLATE "C" NOT NULL,
    privilege   text COLLATE "C" NOT NULL,
    valid_from  bigint NOT NULL,
    valid_to    bigint NOT NULL DEFAULT 9223372036854775807,
    CHECK (valid_from < valid_to)
);

-- The indexes of the row tables are built by the first publish, after its COPY
-- (sql/postgres/index_rows.sql): maintained row by row during the COPY they
-- would cost more than the COPY itself. The conversion below builds them when
-- it converted rows.

COMMENT ON TABLE {{schema}}.access_rows IS
    'The rows of every kept generation: a row belongs to generation N when valid_from <= N < valid_to. The access view selects those of the current generation.';

-- ord is a row's place among the rows of its person, as the mirror listed them.
CREATE TABLE {{schema}}.membership_rows (
    account    text COLLATE "C" NOT NULL,
    email      text COLLATE "C" NOT NULL,
    ord        integer NOT NULL,
    user_name  text COLLATE "C" NOT NULL,
    role       text COLLATE "C" NOT NULL,
    path       text[] COLLATE "C",
    valid_from bigint NOT NULL,
    valid_to   bigint NOT NULL DEFAULT 9223372036854775807,
    CHECK (valid_from < valid_to)
);


-- ord is a row's place among the grants of its role.
CREATE TABLE {{schema}}.grant_rows (
    account     text COLLATE "C" NOT NULL,
    role        text COLLATE "C" NOT NULL,
    ord         integer NOT NULL,
    object_type text COLLATE "C" NOT NULL,
    object_name text COLLATE "C" NOT NULL,
    privilege   text COLLATE "C" NOT NULL,
    via         text COLLATE "C" NOT NULL,
    valid_from  bigint NOT NULL,
    valid_to    bigint NOT NULL DEFAULT 9223372036854775807,
    CHECK (valid_from < valid_to)
);


-- ord is a row's place among the masked columns of its account.
CREATE TABLE {{schema}}.masked_rows (
    account     text COLLATE "C" NOT NULL,
    ord         integer NOT NULL,
    object_name text COLLATE "C" NOT NULL,
    column_name text COLLATE "C" NOT NULL,
    reason      text COLLATE "C" NOT NULL,
    valid_from  bigint NOT NULL,
    valid_to    bigint NOT NULL DEFAULT 9223372036854775807,
    CHECK (valid_from < valid_to)
);

CREATE INDEX masked_rows_object
    ON {{schema}}.masked_rows (object_name, account);

-- A SHA-256 of each group of rows, by generation: kind 'access' and
-- 'memberships' group by person (key is the email), 'grants' by role, 'masked'
-- by account (key is empty). A publish rewrites only the groups whose digest
-- changed, and a comparison of two generations reads only the people whose
-- access digests differ. A NULL digest (a generation converted by this
-- migration) equals nothing.
CREATE TABLE {{schema}}.digests (
    kind       text COLLATE "C" NOT NULL CHECK (kind IN ('access', 'memberships', 'grants', 'masked')),
    account    text COLLATE "C" NOT NULL,
    key        text COLLATE "C" NOT NULL,
    digest     bytea,
    rows       integer NOT NULL,
    valid_from bigint NOT NULL,
    valid_to   bigint NOT NULL DEFAULT 9223372036854775807,
    CHECK (valid_from < valid_to)
);

CREATE UNIQUE INDEX digests_key
    ON {{schema}}.digests (kind, key, account, valid_from) INCLUDE (valid_to, digest);

-- The rows a publish closed, for pruning to find without reading the open ones.
CREATE INDEX access_rows_closed ON {{schema}}.access_rows (valid_to) WHERE valid_to < 9223372036854775807;
CREATE INDEX membership_rows_closed ON {{schema}}.membership_rows (valid_to) WHERE valid_to < 9223372036854775807;
CREATE INDEX grant_rows_closed ON {{schema}}.grant_rows (valid_to) WHERE valid_to < 9223372036854775807;
CREATE INDEX masked_rows_closed ON {{schema}}.masked_rows (valid_to) WHERE valid_to < 9223372036854775807;
CREATE INDEX digests_closed ON {{schema}}.digests (valid_to) WHERE valid_to < 9223372036854775807;

-- A publish writes the record of its run in the transaction that makes the
-- generation current; completed says the caller filled in the rest since.
ALTER TABLE {{schema}}.runs ADD COLUMN completed boolean NOT NULL DEFAULT true;

-- Snapshot files are stored once per content and shared by the generations whose
-- snapshot holds the same file.
CREATE TABLE {{schema}}.snapshot_blobs (
    digest  bytea PRIMARY KEY,
    content bytea NOT NULL
);

INSERT INTO {{schema}}.snapshot_blobs (digest, content)
SELECT DISTINCT ON (sha256(content)) sha256(content), content
FROM {{schema}}.snapshot_files;

ALTER TABLE {{schema}}.snapshot_files ADD COLUMN digest bytea;
UPDATE {{schema}}.snapshot_files SET digest = sha256(content);
ALTER TABLE {{schema}}.snapshot_files ALTER COLUMN digest SET NOT NULL;
ALTER TABLE {{schema}}.snapshot_files DROP COLUMN content;

-- +goose StatementBegin
DO $$
DECLARE
    g    bigint;
    last bigint;
    hi   bigint;
    t    regclass;
BEGIN
    SELECT max(number) INTO last FROM {{schema}}.generations;
    FOR g IN SELECT number FROM {{schema}}.generations ORDER BY number LOOP
        -- No generation between two kept ones is kept, so a range reaching the next
        -- number covers exactly one.
        hi := CASE WHEN g = last THEN 9223372036854775807 ELSE g + 1 END;
        IF to_regclass(format('{{schema}}.%I', 'access_' || g)) IS NOT NULL THEN
            EXECUTE format('INSERT INTO {{schema}}.access_rows '
                           'SELECT account, email, object_type, object_name, privilege, %s, %s FROM {{schema}}.%I', g, hi, 'access_' || g);
            EXECUTE format('INSERT INTO {{schema}}.digests (kind, account, key, digest, rows, valid_from, valid_to) '
                           'SELECT ''access'', account, email, NULL, count(*), %s, %s FROM {{schema}}.%I GROUP BY account, email', g, hi, 'access_' || g);
        END IF;
        IF to_regclass(format('{{schema}}.%I', 'memberships_' || g)) IS NOT NULL THEN
            EXECUTE format('INSERT INTO {{schema}}.membership_rows '
                           'SELECT account, email, row_number() OVER (PARTITION BY account, email ORDER BY ord), user_name, role, path, %s, %s FROM {{schema}}.%I', g, hi, 'memberships_' || g);
            EXECUTE format('INSERT INTO {{schema}}.digests (kind, account, key, digest, rows, valid_from, valid_to) '
                           'SELECT ''memberships'', account, email, NULL, count(*), %s, %s FROM {{schema}}.%I GROUP BY account, email', g, hi, 'memberships_' || g);
        END IF;
        IF to_regclass(format('{{schema}}.%I', 'grants_' || g)) IS NOT NULL THEN
            EXECUTE format('INSERT INTO {{schema}}.grant_rows '
                           'SELECT account, role, row_number() OVER (PARTITION BY account, role ORDER BY ord), object_type, object_name, privilege, via, %s, %s FROM {{schema}}.%I', g, hi, 'grants_' || g);
            EXECUTE format('INSERT INTO {{schema}}.digests (kind, account, key, digest, rows, valid_from, valid_to) '
                           'SELECT ''grants'', account, role, NULL, count(*), %s, %s FROM {{schema}}.%I GROUP BY account, role', g, hi, 'grants_' || g);
        END IF;
        IF to_regclass(format('{{schema}}.%I', 'masked_' || g)) IS NOT NULL THEN
            EXECUTE format('INSERT INTO {{schema}}.masked_rows '
                           'SELECT account, row_number() OVER (PARTITION BY account ORDER BY ord), object_name, column_name, reason, %s, %s FROM {{schema}}.%I', g, hi, 'masked_' || g);
            EXECUTE format('INSERT INTO {{schema}}.digests (kind, account, key, digest, rows, valid_from, valid_to) '
                           'SELECT ''masked'', account, '''', NULL, count(*), %s, %s FROM {{schema}}.%I GROUP BY account', g, hi, 'masked_' || g);
        END IF;
    END LOOP;

    -- The views depend on the tables of the current generation; point them at
    -- the new tables before the old ones go.
    EXECUTE 'CREATE OR REPLACE VIEW {{schema}}.access AS '
         || 'SELECT account, email, object_type, object_name, privilege FROM {{schema}}.access_rows WHERE false';
    EXECUTE 'CREATE OR REPLACE VIEW {{schema}}.memberships AS '
         || 'SELECT account, email, role FROM {{schema}}.membership_rows WHERE false';
    EXECUTE 'CREATE OR REPLACE VIEW {{schema}}.provenance AS '
         || 'SELECT a.account, a.email, a.object_type, a.object_name, a.privilege, m.user_name, m.path AS role_path, g.via '
         || 'FROM {{schema}}.access_rows a, {{schema}}.membership_rows m, {{schema}}.grant_rows g WHERE false';
    EXECUTE 'CREATE OR REPLACE VIEW {{schema}}.masked_columns AS '
         || 'SELECT account, object_name, column_name, reason FROM {{schema}}.masked_rows WHERE false';

    FOR t IN
        SELECT c.oid::regclass
        FROM pg_class c
        WHERE c.relnamespace = '{{schema}}'::regnamespace
          AND c.relkind = 'r'
          AND c.relname ~ '^(access|memberships|grants|masked|people|changes)_[0-9]+$'
    LOOP
        EXECUTE format('DROP TABLE %s', t);
    END LOOP;
END
$$;
-- +goose StatementEnd

-- The same indexes as sql/postgres/index_rows.sql, for the converted rows.
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM {{schema}}.access_rows) THEN
        CREATE UNIQUE INDEX access_rows_key
            ON {{schema}}.access_rows (email, object_type, object_name, privilege, account, valid_from)
            INCLUDE (valid_to);
        CREATE INDEX access_rows_object ON {{schema}}.access_rows (object_name);
        CREATE INDEX membership_rows_email
            ON {{schema}}.membership_rows (email, account, valid_from) INCLUDE (valid_to);
        CREATE INDEX membership_rows_user ON {{schema}}.membership_rows (user_name, account);
        CREATE INDEX grant_rows_role
            ON {{schema}}.grant_rows (account, role, object_type, object_name, privilege);
        CREATE INDEX grant_rows_object ON {{schema}}.grant_rows (object_name);
    END IF;
END
$$;
-- +goose StatementEnd

ANALYZE {{schema}}.access_rows, {{schema}}.membership_rows, {{schema}}.grant_rows, {{schema}}.masked_rows, {{schema}}.digests;

-- The views read the generation current names. The scalar subqueries are
-- evaluated once per statement, from the statement's snapshot, like the rows.
CREATE OR REPLACE VIEW {{schema}}.access AS
SELECT a.account, a.email, a.object_type, a.object_name, a.privilege
FROM {{schema}}.access_rows a
WHERE a.valid_from <= (SELECT c.generation FROM {{schema}}.current c)
  AND a.valid_to > (SELECT c.generation FROM {{schema}}.current c)
UNION ALL
SELECT account, email, object_type, object_name, privilege
FROM {{schema}}.local_grants
WHERE revoked_at IS NULL AND until > {{schema}}.clock();

CREATE OR REPLACE VIEW {{schema}}.memberships AS
SELECT DISTINCT m.account, m.email, m.role
FROM {{schema}}.membership_rows m
WHERE m.valid_from <= (SELECT c.generation FROM {{schema}}.current c)
  AND m.valid_to > (SELECT c.generation FROM {{schema}}.current c);

CREATE OR REPLACE VIEW {{schema}}.provenance AS
SELECT a.account, a.email, a.object_type, a.object_name, a.privilege,
       m.user_name, m.path AS role_path, g.via
FROM {{schema}}.current c
JOIN {{schema}}.access_rows a
  ON a.valid_from <= c.generation AND a.valid_to > c.generation
JOIN {{schema}}.membership_rows m
  ON m.account = a.account AND m.email = a.email
 AND m.valid_from <= c.generation AND m.valid_to > c.generation
JOIN {{schema}}.grant_rows g
  ON g.account = m.account AND g.role = m.role
 AND g.object_type = a.object_type AND g.object_name = a.object_name AND g.privilege = a.privilege
 AND g.valid_from <= c.generation AND g.valid_to > c.generation;

CREATE OR REPLACE VIEW {{schema}}.masked_columns AS
SELECT k.account, k.object_name, k.column_name, k.reason
FROM {{schema}}.masked_rows k
WHERE k.valid_from <= (SELECT c.generation FROM {{schema}}.current c)
  AND k.valid_to > (SELECT c.generation FROM {{schema}}.current c);

-- The production clock of local grants is the database's, and no session can
-- move it: the setting grantmirror.now, which earlier versions read, let any role
-- revive an expired grant. Only the schema's owner can replace this function
-- (tests do, to stand at an exact second). A one-expression SQL function, so the
-- planner inlines it and the view's filter stays index-friendly.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION {{schema}}.clock() RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT now() $$;
-- +goose StatementEnd

-- +goose Down

-- Back to a table per generation, each a full copy, and views re-created on the
-- current one, as the first two migrations left them.
-- +goose StatementBegin
DO $$
DECLARE
    g   bigint;
    cur bigint;
BEGIN
    FOR g IN SELECT number FROM {{schema}}.generations ORDER BY number LOOP
        EXECUTE format('CREATE TABLE {{schema}}.%I AS SELECT account, email, object_type, object_name, privilege '
                       'FROM {{schema}}.access_rows WHERE valid_from <= %s AND valid_to > %s', 'access_' || g, g, g);
        EXECUTE format('CREATE TABLE {{schema}}.%I AS SELECT (row_number() OVER (ORDER BY account, email, ord))::integer - 1 AS ord, '
                       'account, email, user_name, role, path FROM {{schema}}.membership_rows WHERE valid_from <= %s AND valid_to > %s', 'memberships_' || g, g, g);
        EXECUTE format('CREATE TABLE {{schema}}.%I AS SELECT (row_number() OVER (ORDER BY account, role, ord))::integer - 1 AS ord, '
                       'account, role, object_type, object_name, privilege, via FROM {{schema}}.grant_rows WHERE valid_from <= %s AND valid_to > %s', 'grants_' || g, g, g);
        EXECUTE format('CREATE TABLE {{schema}}.%I AS SELECT (row_number() OVER (ORDER BY account, ord))::integer - 1 AS ord, '
                       'account, object_name, column_name, reason FROM {{schema}}.masked_rows WHERE valid_from <= %s AND valid_to > %s', 'masked_' || g, g, g);
        EXECUTE format('CREATE UNIQUE INDEX %I ON {{schema}}.%I (email, object_type, object_name, privilege, account)', 'access_' || g || '_key', 'access_' || g);
    END LOOP;
    SELECT generation INTO cur FROM {{schema}}.current;
    IF cur IS NULL THEN
        EXECUTE 'CREATE OR REPLACE VIEW {{schema}}.access AS SELECT NULL::text COLLATE "C" AS account, NULL::text COLLATE "C" AS email, '
             || 'NULL::text COLLATE "C" AS object_type, NULL::text COLLATE "C" AS object_name, NULL::text COLLATE "C" AS privilege WHERE false';
        EXECUTE 'CREATE OR REPLACE VIEW {{schema}}.memberships AS SELECT NULL::text COLLATE "C" AS account, NULL::text COLLATE "C" AS email, '
             || 'NULL::text COLLATE "C" AS role WHERE false';
        EXECUTE 'CREATE OR REPLACE VIEW {{schema}}.provenance AS SELECT NULL::text COLLATE "C" AS account, NULL::text COLLATE "C" AS email, '
             || 'NULL::text COLLATE "C" AS object_type, NULL::text COLLATE "C" AS object_name, NULL::text COLLATE "C" AS privilege, '
             || 'NULL::text COLLATE "C" AS user_name, NULL::text[] COLLATE "C" AS role_path, NULL::text COLLATE "C" AS via WHERE false';
        EXECUTE 'CREATE OR REPLACE VIEW {{schema}}.masked_columns AS SELECT NULL::text COLLATE "C" AS account, NULL::text COLLATE "C" AS object_name, '
             || 'NULL::text COLLATE "C" AS column_name, NULL::text COLLATE "C" AS reason WHERE false';
    ELSE
        EXECUTE format('CREATE OR REPLACE VIEW {{schema}}.access AS SELECT account, email, object_type, object_name, privilege FROM {{schema}}.%I '
                       'UNION ALL SELECT account, email, object_type, object_name, privilege FROM {{schema}}.local_grants '
                       'WHERE revoked_at IS NULL AND until > {{schema}}.clock()', 'access_' || cur);
        EXECUTE format('CREATE OR REPLACE VIEW {{schema}}.memberships AS SELECT DISTINCT account, email, role FROM {{schema}}.%I', 'memberships_' || cur);
        EXECUTE format('CREATE OR REPLACE VIEW {{schema}}.provenance AS SELECT a.account, a.email, a.object_type, a.object_name, a.privilege, '
                       'm.user_name, m.path AS role_path, g.via FROM {{schema}}.%I a JOIN {{schema}}.%I m ON m.account = a.account AND m.email = a.email '
                       'JOIN {{schema}}.%I g ON g.account = m.account AND g.role = m.role AND g.object_type = a.object_type '
                       'AND g.object_name = a.object_name AND g.privilege = a.privilege', 'access_' || cur, 'memberships_' || cur, 'grants_' || cur);
        EXECUTE format('CREATE OR REPLACE VIEW {{schema}}.masked_columns AS SELECT account, object_name, column_name, reason FROM {{schema}}.%I', 'masked_' || cur);
    END IF;
END
$$;
-- +goose StatementEnd

ALTER TABLE {{schema}}.snapshot_files ADD COLUMN content bytea;
UPDATE {{schema}}.snapshot_files f SET content = b.content FROM {{schema}}.snapshot_blobs b WHERE b.digest = f.digest;
ALTER TABLE {{schema}}.snapshot_files ALTER COLUMN content SET NOT NULL;
ALTER TABLE {{schema}}.snapshot_files DROP COLUMN digest;
DROP TABLE {{schema}}.snapshot_blobs;

ALTER TABLE {{schema}}.runs DROP COLUMN completed;

DROP TABLE {{schema}}.digests;
DROP TABLE {{schema}}.masked_rows;
DROP TABLE {{schema}}.grant_rows;
DROP TABLE {{schema}}.membership_rows;
DROP TABLE {{schema}}.access_rows;

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION {{schema}}.clock() RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT coalesce(nullif(current_setting('grantmirror.now', true), '')::timestamptz, now()) $$;
-- +goose StatementEnd
