-- Deletes the history rows removed before $1 and moves the horizon past the
-- latest of them: answers about earlier moments would miss those rows. A key's
-- baseline row stays while access_rows still holds the key in the baseline
-- generation: without it, access_history would read the key as present again
-- (00008_history_baseline.sql). Returns how many rows were deleted.
WITH gone AS (
    DELETE FROM {{schema}}.history_rows h
    WHERE h.removed_at < $1
      AND NOT (h.baseline AND EXISTS (
          SELECT 1 FROM {{schema}}.history_baseline b
          JOIN {{schema}}.access_rows r ON r.valid_from <= b.generation AND r.valid_to > b.generation
          WHERE r.email = h.email AND r.object_type = h.object_type AND r.object_name = h.object_name
            AND r.privilege = h.privilege AND r.account = h.account))
    RETURNING removed_at
), horizon AS (
    UPDATE {{schema}}.history_horizon
    SET complete_since = greatest(complete_since, (SELECT max(removed_at) FROM gone))
    WHERE EXISTS (SELECT 1 FROM gone)
)
SELECT count(*) FROM gone;
