-- One part of an object's name, as a policy's data column holds it (unquoted,
-- exact case), written the way the mirror stores it: bare when Snowflake would
-- resolve it unquoted to itself, else double-quoted with quotes doubled. The
-- parts are joined with '.' into the canonical name, so the comparison with the
-- mirror stays an equality. A NULL part makes the name NULL, which matches
-- nothing. {{column}} is the qualified, quoted column.
CASE WHEN {{column}} ~ '^[A-Z_][A-Z0-9_$]*$' THEN {{column}} ELSE '"' || replace({{column}}, '"', '""') || '"' END
