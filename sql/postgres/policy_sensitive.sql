SELECT {{schema}}.policy_sensitive($1, $2, $3);
