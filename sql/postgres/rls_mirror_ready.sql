-- Whether the mirror's published views exist in the schema $1: a policy that
-- references them can only be created once the schema is migrated. The second
-- column says whether the role installing the policy can read row_policies and
-- memberships, which rls_denied reads with its rights.
SELECT to_regclass(format('%I.access', $1::text)) IS NOT NULL
   AND to_regclass(format('%I.current', $1::text)) IS NOT NULL
   AND to_regclass(format('%I.row_policies', $1::text)) IS NOT NULL
   AND to_regclass(format('%I.memberships', $1::text)) IS NOT NULL,
       CASE WHEN to_regclass(format('%I.row_policies', $1::text)) IS NOT NULL
             AND to_regclass(format('%I.memberships', $1::text)) IS NOT NULL
            THEN has_table_privilege(format('%I.row_policies', $1::text), 'SELECT')
             AND has_table_privilege(format('%I.memberships', $1::text), 'SELECT')
            ELSE false
       END;
