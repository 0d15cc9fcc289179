SELECT account, object_name, column_name, reason, rule
FROM {{schema}}.masked_rows
WHERE valid_from <= $1 AND valid_to > $1
ORDER BY account, ord;
