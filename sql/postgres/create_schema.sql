-- Migrate creates the schema before goose creates its version table inside it,
-- only when schema_exists.sql says it is missing: CREATE SCHEMA checks the
-- database's CREATE privilege even with IF NOT EXISTS, and a user who owns a
-- schema a DBA created for it need not hold that privilege.
CREATE SCHEMA IF NOT EXISTS {{schema}};
