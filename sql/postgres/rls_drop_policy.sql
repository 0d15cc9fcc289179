-- Removes grantmirror's policy from {{table}}, if it has one; other policies stay.
DROP POLICY IF EXISTS grantmirror_guard ON {{table}};
