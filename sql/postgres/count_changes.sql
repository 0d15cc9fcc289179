-- How many rows the compared generation adds and removes (stage_changes.sql).
SELECT count(*) FILTER (WHERE added), count(*) FILTER (WHERE NOT added)
FROM pg_temp.gm_changes;
