-- How many rows generation {{gen}} adds and removes in each account, from
-- compare_generations.sql: the guard weighs every account on its own.
SELECT account, count(*) FILTER (WHERE added), count(*) FILTER (WHERE NOT added)
FROM {{schema}}.changes_{{gen}}
GROUP BY account;
