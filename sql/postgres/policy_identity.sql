SELECT {{schema}}.policy_identity($1, $2, $3, $4);
