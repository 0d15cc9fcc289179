-- An index of memberships by role: a report's role view lists every holder of
-- the roles with a grant on its objects, which the read layer finds through it
-- (slice_role_holders.sql) instead of reading every membership. {{schema}} is
-- replaced by the quoted schema name before goose reads this file.
--
-- A schema with rows gets it now; an empty one gets it from the first publish
-- (index_rows.sql), which builds every index after copying its rows.

-- +goose Up
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM {{schema}}.membership_rows) THEN
        CREATE INDEX IF NOT EXISTS membership_rows_role
            ON {{schema}}.membership_rows (role, valid_from) INCLUDE (valid_to, email);
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP INDEX IF EXISTS {{schema}}.membership_rows_role;
