-- The policies left on table $1 besides grantmirror's.
SELECT ARRAY(SELECT polname::text FROM pg_policy
             WHERE polrelid = $1::oid AND polname <> 'grantmirror_guard' ORDER BY 1);
