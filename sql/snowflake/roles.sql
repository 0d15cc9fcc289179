-- roles.csv: account roles and database roles. Without this file a role that
-- appears in no grant is simply unseen; with it, an unknown role is an error.
SELECT
    NAME,
    ROLE_TYPE,
    ROLE_DATABASE_NAME,
    OWNER,
    TO_VARCHAR(DELETED_ON, 'YYYY-MM-DD HH24:MI:SS.FF3 TZHTZM') AS DELETED_ON
FROM SNOWFLAKE.ACCOUNT_USAGE.ROLES
ORDER BY NAME, DELETED_ON NULLS FIRST
