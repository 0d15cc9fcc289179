-- users.csv: every user of the account, dropped ones included (DELETED_ON set),
-- so that explain can say when a person lost access. DISABLED is a VARIANT and
-- renders as true or false. Timestamps render as Snowflake's TIMESTAMP_LTZ output
-- in the session time zone, which grantmirror sets to UTC.
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
