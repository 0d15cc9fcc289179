-- An emergency grant, in force at once; returns the request's number.
SELECT {{schema}}.break_glass($1, $2, $3, $4, $5, $6, $7);
