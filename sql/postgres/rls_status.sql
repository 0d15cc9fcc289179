-- Every table with grantmirror's policy ($1 NULL), or the one table $1, with the
-- settings stored in the policy's comment and the other policies on the table.
SELECT c.oid, n.nspname::text, c.relname::text, pg_get_userbyid(c.relowner)::text,
       c.relrowsecurity, c.relforcerowsecurity,
       coalesce(obj_description(p.oid, 'pg_policy'), ''),
       ARRAY(SELECT o.polname::text FROM pg_policy o
             WHERE o.polrelid = c.oid AND o.polname <> 'grantmirror_guard' ORDER BY 1)
FROM pg_policy p
JOIN pg_class c ON c.oid = p.polrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE p.polname = 'grantmirror_guard'
  AND ($1::oid IS NULL OR c.oid = $1::oid)
ORDER BY n.nspname, c.relname;
