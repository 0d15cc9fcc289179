-- Whether generation {{gen}} knows the object in the account: every Snowflake
-- object has at least its OWNERSHIP grant.
SELECT EXISTS (
    SELECT 1 FROM {{schema}}.grant_rows
    WHERE object_name = $3 AND account = $1 AND object_type = $2
      AND valid_from <= {{gen}} AND valid_to > {{gen}});
