-- compare_generations.sql for two generations that both carry people tables: the
-- people whose digest differs, or who are in one generation only, are found from
-- the small people tables, and only their rows are compared, through the unique
-- index that leads with email. A sync that changes little compares little.
DROP TABLE IF EXISTS {{schema}}.changes_{{gen}};

CREATE UNLOGGED TABLE {{schema}}.changes_{{gen}} AS
WITH changed AS (
    SELECT coalesce(n.account, o.account) AS account,
           coalesce(n.email, o.email)     AS email
    FROM {{schema}}.people_{{prev}} o
    FULL JOIN {{schema}}.people_{{gen}} n
      ON n.email = o.email
     AND n.account = o.account
    WHERE o.digest IS DISTINCT FROM n.digest
)
SELECT d.*
FROM changed c
CROSS JOIN LATERAL (
    SELECT coalesce(n.account, o.account)         AS account,
           coalesce(n.email, o.email)             AS email,
           coalesce(n.object_type, o.object_type) AS object_type,
           coalesce(n.object_name, o.object_name) AS object_name,
           coalesce(n.privilege, o.privilege)     AS privilege,
           o.email IS NULL                        AS added
    FROM (SELECT * FROM {{schema}}.access_{{prev}} WHERE email = c.email AND account = c.account) o
    FULL JOIN (SELECT * FROM {{schema}}.access_{{gen}} WHERE email = c.email AND account = c.account) n
      ON n.object_type = o.object_type
     AND n.object_name = o.object_name
     AND n.privilege = o.privilege
    WHERE o.email IS NULL OR n.email IS NULL
) d;
