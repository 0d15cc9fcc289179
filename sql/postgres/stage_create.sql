-- Temporary tables of one publish, gone when its transaction ends however it
-- ends: the groups whose digest changed since the newest generation (gm_keys),
-- and the new rows of the people among them (gm_stage). Temporary tables are
-- private to the session, so creating them takes no lock a reader could hold.
CREATE TEMP TABLE gm_keys (
    kind    text COLLATE "C" NOT NULL,
    account text COLLATE "C" NOT NULL,
    key     text COLLATE "C" NOT NULL
) ON COMMIT DROP;

CREATE TEMP TABLE gm_stage (
    account     text COLLATE "C" NOT NULL,
    email       text COLLATE "C" NOT NULL,
    object_type text COLLATE "C" NOT NULL,
    object_name text COLLATE "C" NOT NULL,
    privilege   text COLLATE "C" NOT NULL
) ON COMMIT DROP;

CREATE TEMP TABLE gm_changes (
    account     text COLLATE "C" NOT NULL,
    email       text COLLATE "C" NOT NULL,
    object_type text COLLATE "C" NOT NULL,
    object_name text COLLATE "C" NOT NULL,
    privilege   text COLLATE "C" NOT NULL,
    added       boolean NOT NULL
) ON COMMIT DROP;
