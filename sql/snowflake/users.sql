-- users.csv: every user of the account, dropped ones included (DELETED_ON set),
-- so that explain can say when a person lost access. DISABLED and SNOWFLAKE_LOCK
-- are VARIANTs and render as true or false. A user whose EXPIRES_AT has passed
-- cannot sign in and is left out like a disabled one; a lock (SNOWFLAKE_LOCK,
-- LOCKED_UNTIL_TIME) is temporary and only listed. DEFAULT_SECONDARY_ROLE decides
-- per user whether a session holds every granted role (["ALL"]) or only the
-- default one ([]); NULL, the property unset, means ('ALL') since behavior change
-- bundle 2024_08 and no secondary roles before it, so the configured --roles
-- decides. Timestamps render as Snowflake's TIMESTAMP_LTZ output in the session
-- time zone, which grantmirror sets to UTC. An account whose USERS view lacks
-- EXPIRES_AT, SNOWFLAKE_LOCK, LOCKED_UNTIL_TIME or DEFAULT_SECONDARY_ROLE is read
-- with users_without_optional.sql instead.
SELECT
    NAME,
    LOGIN_NAME,
    DISPLAY_NAME,
    EMAIL,
    TYPE,
    TO_VARCHAR(DISABLED) AS DISABLED,
    DEFAULT_ROLE,
    TO_VARCHAR(DELETED_ON, 'YYYY-MM-DD HH24:MI:SS.FF3 TZHTZM') AS DELETED_ON,
    TO_VARCHAR(EXPIRES_AT, 'YYYY-MM-DD HH24:MI:SS.FF3 TZHTZM') AS EXPIRES_AT,
    TO_VARCHAR(SNOWFLAKE_LOCK) AS SNOWFLAKE_LOCK,
    TO_VARCHAR(LOCKED_UNTIL_TIME, 'YYYY-MM-DD HH24:MI:SS.FF3 TZHTZM') AS LOCKED_UNTIL_TIME,
    TO_VARCHAR(DEFAULT_SECONDARY_ROLE) AS DEFAULT_SECONDARY_ROLE
FROM SNOWFLAKE.ACCOUNT_USAGE.USERS
ORDER BY NAME, DELETED_ON NULLS FIRST
