-- Asks for a local grant for person $1, as a service role that authenticated
-- them; returns the request's number.
SELECT {{schema}}.request_for($1, $2, $3, $4, $5, $6, $7, $8, $9);
