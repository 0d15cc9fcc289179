-- Resolves a column name as typed ($2) in the table $1, with its type: the
-- policy compares text. Returns nothing for a missing column; parse_ident
-- refuses anything but one plain identifier.
SELECT a.attname::text, format_type(a.atttypid, a.atttypmod),
       a.atttypid IN ('text'::regtype, 'varchar'::regtype)
FROM pg_attribute a
WHERE a.attrelid = $1::oid
  AND a.attnum > 0
  AND NOT a.attisdropped
  AND cardinality(parse_ident($2::text)) = 1
  AND a.attname = (parse_ident($2::text))[1];
