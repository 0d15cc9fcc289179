-- The distinct object names the grants of generation $1 name in account $2
-- (every account when empty), sorted bytewise.
SELECT DISTINCT object_name
FROM {{schema}}.grant_rows
WHERE valid_from <= $1 AND valid_to > $1 AND ($2 = '' OR account = $2)
ORDER BY object_name;
