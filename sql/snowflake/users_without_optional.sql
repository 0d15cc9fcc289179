-- users.csv from an account whose ACCOUNT_USAGE.USERS lacks one of the columns
-- users.sql reads beyond the required ones: this query leaves all of them out
-- (expiry, locks, default secondary roles), so the snapshot says nothing about
-- them. A reader then counts no user as expired or locked, and every session as
-- holding the roles the configured --roles mode gives it. grantmirror runs it only
-- after Snowflake answered users.sql with "invalid identifier" for one of them.
SELECT
    NAME,
    LOGIN_NAME,
    DISPLAY_NAME,
    EMAIL,
    TYPE,
    TO_VARCHAR(DISABLED) AS DISABLED,
    DEFAULT_ROLE,
    TO_VARCHAR(DELETED_ON, 'YYYY-MM-DD HH24:MI:SS.FF3 TZHTZM') AS DELETED_ON
FROM SNOWFLAKE.ACCOUNT_USAGE.USERS
ORDER BY NAME, DELETED_ON NULLS FIRST
