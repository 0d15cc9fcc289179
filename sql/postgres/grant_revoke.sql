-- Ends a local grant now, as the session's person.
SELECT {{schema}}.revoke($1, $2);
