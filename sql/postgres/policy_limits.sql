-- NULL keeps a limit; $6 turns the activity extension off.
SELECT {{schema}}.policy_limits($1, $2, $3, $4, $5, $6, $7);
