-- Forgets the generations $1 (an array of numbers) and their snapshot files.
-- prune_rows.sql then deletes the rows no kept generation holds.
DELETE FROM {{schema}}.generations WHERE number = ANY($1);
