-- Approves a pending request as the session's person; returns the local grant
-- now in force.
SELECT {{schema}}.approve($1);
