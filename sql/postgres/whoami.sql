-- The email the session's database role stands for.
SELECT {{schema}}.whoami();
