-- Settings of the statements that write a publish's changes into the access
-- history. The changes are few, and each should probe the open-row index; the
-- history's statistics lag right after a large publish, and a merge or hash join
-- planned on them would read every open row.
SET LOCAL enable_mergejoin = off;
SET LOCAL enable_hashjoin = off;
SET LOCAL jit = off;
