-- Extends grant $2, used at $3, within the policy's ceiling; NULL when unchanged.
SELECT {{schema}}.extend($1, $2, $3, $4);
