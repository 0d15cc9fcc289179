-- The grants of generation $1 on the objects $2, and those to the roles ($3
-- accounts and $4 roles, pairwise) the person's memberships name, in the order
-- read_grants.sql reads: one probe of the object index per object and of the
-- role index per role.
SELECT account, role, object_type, object_name, privilege, via
FROM (
    SELECT account, role, ord, object_type, object_name, privilege, via
    FROM {{schema}}.grant_rows
    WHERE object_name = ANY($2) AND valid_from <= $1 AND valid_to > $1
    UNION
    SELECT g.account, g.role, g.ord, g.object_type, g.object_name, g.privilege, g.via
    FROM unnest($3::text[], $4::text[]) AS r (account, role)
    JOIN {{schema}}.grant_rows g ON g.account = r.account AND g.role = r.role
    WHERE g.valid_from <= $1 AND g.valid_to > $1
) u
ORDER BY account, role, ord;
