-- Runs after index_generation.sql, outside a transaction as VACUUM must. ANALYZE
-- gives the planner the new tables' statistics before the first reader arrives.
-- VACUUM marks every page all-visible, so that guards and the revocation
-- anti-join read the index alone (index-only scans) instead of visiting the table.
VACUUM (ANALYZE) {{schema}}.access_{{gen}}, {{schema}}.memberships_{{gen}}, {{schema}}.grants_{{gen}}, {{schema}}.masked_{{gen}};
