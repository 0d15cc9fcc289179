-- How many break-glass grants were ever made: rows are never deleted, so the
-- number only grows.
SELECT count(*) FROM {{schema}}.requests WHERE status = 'break_glass';
