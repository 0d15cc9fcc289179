-- The people of generation $1 who hold a role named in $2, in any account,
-- directly or through nesting (a membership of the role), as one sorted array:
-- who a slice about roles asks about (model.Focus.Roles). Through
-- membership_rows_role.
SELECT coalesce(array_agg(DISTINCT email ORDER BY email), '{}')
FROM {{schema}}.membership_rows
WHERE role = ANY($2::text[]) AND valid_from <= $1 AND valid_to > $1;
