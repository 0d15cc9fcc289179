-- The indexes of the row tables, built by the first publish over the rows it
-- copied, in its transaction (the third migration builds them at once when it
-- converts existing generations). IF NOT EXISTS: a schema that has them already
-- keeps them. The unique index serves every guard: its leading columns are the
-- row, then the range, so the probe lands on the few versions of one row and
-- the range is checked inside the index. The others serve the Reader.
SET LOCAL maintenance_work_mem = '256MB';

CREATE UNIQUE INDEX IF NOT EXISTS access_rows_key
    ON {{schema}}.access_rows (email, object_type, object_name, privilege, account, valid_from)
    INCLUDE (valid_to);
CREATE INDEX IF NOT EXISTS access_rows_object
    ON {{schema}}.access_rows (object_name);
CREATE INDEX IF NOT EXISTS membership_rows_email
    ON {{schema}}.membership_rows (email, account, valid_from) INCLUDE (valid_to);
CREATE INDEX IF NOT EXISTS membership_rows_user
    ON {{schema}}.membership_rows (user_name, account);
CREATE INDEX IF NOT EXISTS membership_rows_role
    ON {{schema}}.membership_rows (role, valid_from) INCLUDE (valid_to, email);
CREATE INDEX IF NOT EXISTS grant_rows_role
    ON {{schema}}.grant_rows (account, role, object_type, object_name, privilege);
CREATE INDEX IF NOT EXISTS grant_rows_object
    ON {{schema}}.grant_rows (object_name);
