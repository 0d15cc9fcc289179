-- Whether generation {{gen}} already gives the person the privilege.
SELECT EXISTS (
    SELECT 1 FROM {{schema}}.access_rows
    WHERE email = $2 AND object_type = $3 AND object_name = $4 AND privilege = $5 AND account = $1
      AND valid_from <= {{gen}} AND valid_to > {{gen}});
