-- The newest kept generation (0: none). A new generation is stored as the rows it
-- adds to this one and the rows it removes from it; its number is one more.
SELECT coalesce(max(number), 0) FROM {{schema}}.generations;
