-- Extends grant $2, used at $3, within the policy's ceiling; NULL when unchanged.
SELECT {{schema}}.extend(coalesce(nullif($1, ''), session_user::text), $2, $3, $4);
