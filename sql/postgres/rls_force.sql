-- Makes the table's owner subject to its policies too ({{force}} is FORCE), or
-- lets it bypass them again (NO FORCE), Postgres's default.
ALTER TABLE {{table}} {{force}} ROW LEVEL SECURITY;
