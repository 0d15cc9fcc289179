-- Statistics of the staged rows, so the planner probes the row index for a few
-- changed people and joins by hash for many.
ANALYZE pg_temp.gm_keys, pg_temp.gm_stage;
