-- The content digest of generation $1 (model.Mirror.ContentDigest), empty
-- for a generation published before digests were recorded: a sync whose digest
-- equals the current generation's publishes nothing.
SELECT coalesce(meta->>'digest', '') FROM {{schema}}.generations WHERE number = $1;
