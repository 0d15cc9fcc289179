-- Migrate creates the schema before goose creates its version table inside it.
CREATE SCHEMA IF NOT EXISTS {{schema}};
