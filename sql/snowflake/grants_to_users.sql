-- grants_to_users.csv: which roles each user holds. Revoked grants stay in the
-- view with DELETED_ON set and are kept, so that a revocation can be explained.
SELECT
    ROLE,
    GRANTED_TO,
    GRANTEE_NAME,
    GRANTED_BY,
    TO_VARCHAR(CREATED_ON, 'YYYY-MM-DD HH24:MI:SS.FF3 TZHTZM') AS CREATED_ON,
    TO_VARCHAR(DELETED_ON, 'YYYY-MM-DD HH24:MI:SS.FF3 TZHTZM') AS DELETED_ON
FROM SNOWFLAKE.ACCOUNT_USAGE.GRANTS_TO_USERS
ORDER BY GRANTEE_NAME, ROLE, CREATED_ON
