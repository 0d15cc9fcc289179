-- The first generation's history without a row per row. {{schema}} is replaced
-- by the quoted schema name before goose reads this file.
--
-- The first publish used to open a history row for every row it published: at
-- 5M rows, 17 s of its 40 s and 1.4 GB, a second copy of the generation. Its
-- rows are in access_rows already, so the history now records the first
-- publication once (history_baseline) and reads those rows from there: every
-- row of the baseline generation is present from the baseline's at until the
-- first publish or rollback that removes it. That removal writes the row's
-- history explicitly, closed (baseline true), and from then on the key's
-- history is in history_rows like any other. access_history, the change log
-- readers and operators query, is a view over both and answers exactly as the
-- table did: the open rows are the current generation's rows.
--
-- A baseline generation's row stays in access_rows at least as long as any
-- generation holding it is kept; retention keeps a key's explicit baseline row
-- as long as that access_rows row exists (history_retention.sql), so a key the
-- history says was removed never reads as present again. Schemas whose history
-- started before this migration have explicit rows for everything and no
-- baseline.

-- +goose Up
ALTER TABLE {{schema}}.access_history RENAME TO history_rows;
ALTER INDEX {{schema}}.access_history_open RENAME TO history_rows_open;
ALTER INDEX {{schema}}.access_history_removed RENAME TO history_rows_removed;

-- baseline: the row of a baseline generation's key written when it was first
-- removed; its added_at is the baseline's, never later.
ALTER TABLE {{schema}}.history_rows ADD COLUMN baseline boolean NOT NULL DEFAULT false;

-- At most one explicit baseline row per key; the view's anti-join and the
-- removal probe it.
CREATE UNIQUE INDEX history_rows_baseline
    ON {{schema}}.history_rows (email, object_type, object_name, privilege, account)
    WHERE baseline;

COMMENT ON TABLE {{schema}}.history_rows IS
    'The explicit rows of access_history: every change since the first publication, and the first generation''s rows once they are removed.';

-- One row at most: the first publication of the schema.
CREATE TABLE {{schema}}.history_baseline (
    generation bigint NOT NULL,
    at         timestamptz NOT NULL
);

CREATE UNIQUE INDEX history_baseline_one_row ON {{schema}}.history_baseline ((true));

COMMENT ON TABLE {{schema}}.history_baseline IS
    'The first publication: its generation''s rows are present in access_history from at until history_rows records their removal.';

-- The rows of the baseline generation whose history has no row of its own yet:
-- present since the baseline's at.
CREATE VIEW {{schema}}.history_baseline_rows AS
SELECT r.account, r.email, r.object_type, r.object_name, r.privilege, b.generation AS added_gen, b.at AS added_at
FROM {{schema}}.history_baseline b
JOIN {{schema}}.access_rows r ON r.valid_from <= b.generation AND r.valid_to > b.generation
WHERE NOT EXISTS (
    SELECT 1 FROM {{schema}}.history_rows h
    WHERE h.baseline
      AND h.email = r.email AND h.object_type = r.object_type AND h.object_name = r.object_name
      AND h.privilege = r.privilege AND h.account = r.account);

CREATE VIEW {{schema}}.access_history AS
SELECT account, email, object_type, object_name, privilege, added_gen, added_at, removed_gen, removed_at
FROM {{schema}}.history_rows
UNION ALL
SELECT account, email, object_type, object_name, privilege, added_gen, added_at, NULL::bigint, NULL::timestamptz
FROM {{schema}}.history_baseline_rows;

COMMENT ON VIEW {{schema}}.access_history IS
    'Published rows over time: present from added_at until removed_at (NULL: still present).';

-- +goose Down
-- The baseline's rows still present become explicit rows again.
INSERT INTO {{schema}}.history_rows (account, email, object_type, object_name, privilege, added_gen, added_at)
SELECT account, email, object_type, object_name, privilege, added_gen, added_at
FROM {{schema}}.history_baseline_rows;
DROP VIEW {{schema}}.access_history;
DROP VIEW {{schema}}.history_baseline_rows;
DROP TABLE {{schema}}.history_baseline;
DROP INDEX {{schema}}.history_rows_baseline;
ALTER TABLE {{schema}}.history_rows DROP COLUMN baseline;
ALTER INDEX {{schema}}.history_rows_removed RENAME TO access_history_removed;
ALTER INDEX {{schema}}.history_rows_open RENAME TO access_history_open;
ALTER TABLE {{schema}}.history_rows RENAME TO access_history;
COMMENT ON TABLE {{schema}}.access_history IS
    'Published rows over time: present from added_at until removed_at (NULL: still present).';
