-- The mirror's published contract, as sqlc needs to see it to type-check
-- query.sql. It is not applied to a database: grantmirror migrate (or the first
-- sync) creates the real views in the schema grantmirror.
CREATE SCHEMA grantmirror;

CREATE TABLE grantmirror.access (
    account     text NOT NULL,
    email       text NOT NULL,
    object_type text NOT NULL,
    object_name text NOT NULL,
    privilege   text NOT NULL
);

CREATE TABLE grantmirror.current (
    generation   bigint NOT NULL,
    published_at timestamptz NOT NULL,
    snapshot_at  timestamptz
);

CREATE TABLE grantmirror.memberships (
    account text NOT NULL,
    email   text NOT NULL,
    role    text NOT NULL
);

CREATE TABLE grantmirror.row_policies (
    account      text NOT NULL,
    object_name  text NOT NULL,
    admit_roles  text[] NOT NULL,
    admit_emails text[] NOT NULL,
    allow        boolean NOT NULL
);
