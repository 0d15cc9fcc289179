SELECT {{schema}}.policy_admin($1, $2, $3);
