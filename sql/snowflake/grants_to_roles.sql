-- grants_to_roles.csv: every privilege held by a role, database role, application
-- role, instance role, application or share, including role nesting (PRIVILEGE =
-- USAGE on a ROLE, DATABASE_ROLE, APPLICATION_ROLE or INSTANCE_ROLE). OBJECT_INSTANCE
-- names the class instance an instance role belongs to, so the role can be written
-- DB.SCHEMA.INSTANCE!ROLE as Snowflake does. This is the large view of an account;
-- it is read as Arrow batches and streamed to disk.
SELECT
    PRIVILEGE,
    GRANTED_ON,
    NAME,
    TABLE_CATALOG,
    TABLE_SCHEMA,
    GRANTED_TO,
    GRANTEE_NAME,
    TO_VARCHAR(GRANT_OPTION) AS GRANT_OPTION,
    GRANTED_BY,
    TO_VARCHAR(CREATED_ON, 'YYYY-MM-DD HH24:MI:SS.FF3 TZHTZM') AS CREATED_ON,
    TO_VARCHAR(DELETED_ON, 'YYYY-MM-DD HH24:MI:SS.FF3 TZHTZM') AS DELETED_ON,
    OBJECT_INSTANCE
FROM SNOWFLAKE.ACCOUNT_USAGE.GRANTS_TO_ROLES
ORDER BY GRANTEE_NAME, GRANTED_ON, TABLE_CATALOG, TABLE_SCHEMA, NAME, PRIVILEGE, CREATED_ON
