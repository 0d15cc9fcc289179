SELECT {{schema}}.policy_allow($1, $2, $3, $4);
