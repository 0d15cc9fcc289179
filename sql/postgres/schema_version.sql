-- The newest migration applied to the schema. The table is missing in a schema
-- never migrated; the caller reads that error as version 0.
SELECT coalesce(max(version_id), 0) FROM {{schema}}.goose_db_version;
