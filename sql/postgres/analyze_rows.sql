-- Fresh statistics after a publish that wrote many rows (the first one), so the
-- planner knows the tables before the first reader arrives. ANALYZE takes no
-- lock that readers wait for.
ANALYZE {{schema}}.access_rows, {{schema}}.membership_rows, {{schema}}.grant_rows, {{schema}}.masked_rows, {{schema}}.digests;
