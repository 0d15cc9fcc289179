-- The access rows of generation $1 of the people $2 (any account) or on one of
-- the objects $3: one probe of the row index per person and one of the object
-- index per object, never the whole generation. In no order: the reader sorts
-- them into table order (model.NewAccess), and a sort here, in the
-- server's work_mem, spilled to disk from a few thousand rows on.
SELECT account, email, object_type, object_name, privilege
FROM {{schema}}.access_rows
WHERE (email = ANY($2::text[]) OR object_name = ANY($3::text[]))
  AND valid_from <= $1 AND valid_to > $1;
