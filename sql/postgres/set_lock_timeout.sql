-- Bounds how long a statement of a publish or rollback waits for a lock. Readers
-- hold none it needs; a session that locks grantmirror's tables by hand would.
SELECT set_config('lock_timeout', $1, true);
