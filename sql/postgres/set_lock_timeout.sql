-- Bounds how long the publish transaction waits for a reader's lock on the views,
-- since every new reader queues behind it meanwhile.
SELECT set_config('lock_timeout', $1, true);
