-- Settings of the transaction that runs compare_generations.sql. Both generations
-- carry the same unique index in the same order, so a merge join reads each
-- index once, in order, without a hash table or a sort; these steer the planner
-- to it. JIT compilation would cost more than it saves on a single pass.
SET LOCAL jit = off;
SET LOCAL max_parallel_workers_per_gather = 0;
SET LOCAL enable_hashjoin = off;
