-- Approves a pending request for person $1, as a service role that
-- authenticated them; returns the local grant now in force.
SELECT {{schema}}.approve_for($1, $2);
