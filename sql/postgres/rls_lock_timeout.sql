-- Installing or removing a policy takes an exclusive lock on the table for an
-- instant; behind a long read it would queue every other reader. Give up instead.
SET LOCAL lock_timeout = '5s';
-- The policy's comment is written as a plain string literal: make sure
-- backslashes in it are text.
SET LOCAL standard_conforming_strings = on;
