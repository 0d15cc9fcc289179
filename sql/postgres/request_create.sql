-- Asks for a local grant as the session's person (see the request function of
-- migration 00004); returns the request's number.
SELECT {{schema}}.request($1, $2, $3, $4, $5, $6, $7, $8);
