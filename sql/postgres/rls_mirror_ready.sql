-- Whether the mirror's published views exist in the schema $1: a policy that
-- references them can only be created once the schema is migrated.
SELECT to_regclass(format('%I.access', $1::text)) IS NOT NULL
   AND to_regclass(format('%I.current', $1::text)) IS NOT NULL;
