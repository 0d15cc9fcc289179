-- Settings of the statements that write a publish's changes into the access
-- history. The changes are few, and each should probe the open-row index; the
-- history's statistics lag right after a large publish, and a merge or hash join
-- planned on them would read every open row.
SET LOCAL enable_mergejoin = off;
SET LOCAL enable_hashjoin = off;
SET LOCAL jit = off;
-- Right after the first publish the history's table is empty and never
-- analyzed: a publish at 50,000 people planned history_materialize.sql's NOT
-- EXISTS as a scan of that table per removed row, and since the INSERT grows the
-- table it reads, each scan passed every row written so far (229,000 removed
-- rows: over four minutes, against 1.8 s with the index).
SET LOCAL enable_seqscan = off;
