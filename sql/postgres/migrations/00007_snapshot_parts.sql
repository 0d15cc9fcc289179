-- Snapshot parts, and the input digest of runs. {{schema}} is replaced by the quoted schema name before goose
-- reads this file.
--
-- A generation's snapshot is stored as parts per account: a core part (users,
-- roles, grants to users, role-to-role grants, policy bodies) that every answer
-- reads whole, and parts that hold the grants to roles, tags, policy references
-- and access history of the objects (and, for history, the users) whose names
-- hash to them. A question about one person and one object reads the core and a
-- few parts instead of the whole snapshot. Contents live in snapshot_blobs, by
-- digest, shared by every generation with the same part. Generations published
-- before this migration keep their snapshot files.

-- +goose Up
CREATE TABLE {{schema}}.snapshot_parts (
    generation bigint NOT NULL,
    account    text COLLATE "C" NOT NULL,
    key        text COLLATE "C" NOT NULL,
    digest     bytea NOT NULL,
    PRIMARY KEY (generation, account, key)
);

CREATE INDEX snapshot_parts_digest ON {{schema}}.snapshot_parts (digest);

-- What a run read, as pipeline.InputDigest: a sync whose input digest is that of
-- the newest run, while the generation that run left current still is, has
-- nothing to read. Empty for runs that could not tell, and those before.
ALTER TABLE {{schema}}.runs ADD COLUMN input_digest text NOT NULL DEFAULT '';

-- +goose Down
-- Generations published since keep no snapshot: explain and lint then answer
-- them without the why-not inputs, until they age out.
ALTER TABLE {{schema}}.runs DROP COLUMN input_digest;
DROP TABLE {{schema}}.snapshot_parts;
