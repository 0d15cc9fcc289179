-- When the newest generations were pruned (a rollback to an older one, then a
-- publish keeping none), generation {{gen}} is the newest kept: rows that begin
-- after it are deleted, and its rows whose range ends after it are opened again,
-- so that the next publish, which is stored against it, finds them open.
DELETE FROM {{schema}}.access_rows WHERE valid_from > {{gen}};
DELETE FROM {{schema}}.membership_rows WHERE valid_from > {{gen}};
DELETE FROM {{schema}}.grant_rows WHERE valid_from > {{gen}};
DELETE FROM {{schema}}.masked_rows WHERE valid_from > {{gen}};
DELETE FROM {{schema}}.digests WHERE valid_from > {{gen}};

UPDATE {{schema}}.access_rows SET valid_to = DEFAULT WHERE valid_to < 9223372036854775807 AND valid_to > {{gen}};
UPDATE {{schema}}.membership_rows SET valid_to = DEFAULT WHERE valid_to < 9223372036854775807 AND valid_to > {{gen}};
UPDATE {{schema}}.grant_rows SET valid_to = DEFAULT WHERE valid_to < 9223372036854775807 AND valid_to > {{gen}};
UPDATE {{schema}}.masked_rows SET valid_to = DEFAULT WHERE valid_to < 9223372036854775807 AND valid_to > {{gen}};
UPDATE {{schema}}.digests SET valid_to = DEFAULT WHERE valid_to < 9223372036854775807 AND valid_to > {{gen}};
