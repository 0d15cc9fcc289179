SELECT {{schema}}.policy_approver($1, $2, $3, $4, $5);
