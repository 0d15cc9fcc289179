-- Whether generation {{gen}} knows the object in the account: every Snowflake
-- object has at least its OWNERSHIP grant.
SELECT EXISTS (
    SELECT 1 FROM {{schema}}.grants_{{gen}}
    WHERE account = $1 AND object_type = $2 AND object_name = $3);
