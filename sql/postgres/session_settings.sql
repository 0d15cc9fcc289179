-- Settings of the session that holds the publish lock. If the process behind it
-- dies while a statement runs, the server notices the closed connection within a
-- quarter of a second, ends the statement and the session, and with it releases
-- the lock, instead of finishing a statement nobody waits for. Postgres before
-- 14 has no such check; there the statement runs to its end.
SELECT set_config('client_connection_check_interval', '250', false)
WHERE current_setting('server_version_num')::int >= 140000;
