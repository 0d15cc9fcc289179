-- Turns row-level security off for {{table}}, once no policy is left on it: with
-- RLS on and no policy, every role but the owner would see no row at all.
ALTER TABLE {{table}} NO FORCE ROW LEVEL SECURITY;
ALTER TABLE {{table}} DISABLE ROW LEVEL SECURITY;
