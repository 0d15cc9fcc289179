-- The tables of generation {{gen}}, created empty and loaded with COPY. They have
-- no index yet: building indexes once after the load is much faster than keeping
-- them up to date row by row. ord keeps the order of the mirror's lists.
CREATE TABLE {{schema}}.access_{{gen}} (
    account     text COLLATE "C" NOT NULL,
    email       text COLLATE "C" NOT NULL,
    object_type text COLLATE "C" NOT NULL,
    object_name text COLLATE "C" NOT NULL,
    privilege   text COLLATE "C" NOT NULL
);

CREATE TABLE {{schema}}.memberships_{{gen}} (
    ord       integer NOT NULL,
    account   text COLLATE "C" NOT NULL,
    email     text COLLATE "C" NOT NULL,
    user_name text COLLATE "C" NOT NULL,
    role      text COLLATE "C" NOT NULL,
    path      text[] COLLATE "C"
);

CREATE TABLE {{schema}}.grants_{{gen}} (
    ord         integer NOT NULL,
    account     text COLLATE "C" NOT NULL,
    role        text COLLATE "C" NOT NULL,
    object_type text COLLATE "C" NOT NULL,
    object_name text COLLATE "C" NOT NULL,
    privilege   text COLLATE "C" NOT NULL,
    via         text COLLATE "C" NOT NULL
);

-- One row per person: a digest of their rows, so that comparing two generations
-- visits only the people whose access changed (compare_changed_people.sql).
CREATE TABLE {{schema}}.people_{{gen}} (
    account text COLLATE "C" NOT NULL,
    email   text COLLATE "C" NOT NULL,
    digest  bytea NOT NULL,
    rows    integer NOT NULL
);

CREATE TABLE {{schema}}.masked_{{gen}} (
    ord         integer NOT NULL,
    account     text COLLATE "C" NOT NULL,
    object_name text COLLATE "C" NOT NULL,
    column_name text COLLATE "C" NOT NULL,
    reason      text COLLATE "C" NOT NULL
);
