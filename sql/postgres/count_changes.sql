-- How many rows generation {{gen}} adds and removes, from compare_generations.sql.
SELECT count(*) FILTER (WHERE added), count(*) FILTER (WHERE NOT added)
FROM {{schema}}.changes_{{gen}};
