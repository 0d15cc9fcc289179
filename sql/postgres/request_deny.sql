-- Denies (or, for its requester, withdraws) a pending request.
SELECT {{schema}}.deny($1, $2);
