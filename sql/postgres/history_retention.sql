-- Deletes the history rows removed before $1 and moves the horizon past the
-- latest of them: answers about earlier moments would miss those rows. Returns
-- how many rows were deleted.
WITH gone AS (
    DELETE FROM {{schema}}.access_history
    WHERE removed_at < $1
    RETURNING removed_at
), horizon AS (
    UPDATE {{schema}}.history_horizon
    SET complete_since = greatest(complete_since, (SELECT max(removed_at) FROM gone))
    WHERE EXISTS (SELECT 1 FROM gone)
)
SELECT count(*) FROM gone;
