-- How many rows the compared generation adds and removes in each account
-- (stage_changes.sql): the guard weighs every account on its own.
SELECT account, count(*) FILTER (WHERE added), count(*) FILTER (WHERE NOT added)
FROM pg_temp.gm_changes
GROUP BY account;
