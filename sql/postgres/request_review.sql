-- Reviews a break-glass grant after the fact.
SELECT {{schema}}.review($1, $2);
