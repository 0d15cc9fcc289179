-- row_access_policies.csv: the definitions of row access policies: who sees an object's rows.
-- grantmirror translates the common bodies (role lists tested with CURRENT_ROLE(),
-- IS_ROLE_IN_SESSION or IS_DATABASE_ROLE_IN_SESSION) into rules the query builder
-- applies; any other body is listed as not mirrored and falls back closed.
-- Dropped policies are left out.
SELECT
    POLICY_CATALOG,
    POLICY_SCHEMA,
    POLICY_NAME,
    POLICY_SIGNATURE,
    POLICY_BODY
FROM SNOWFLAKE.ACCOUNT_USAGE.ROW_ACCESS_POLICIES
WHERE DELETED IS NULL
ORDER BY POLICY_CATALOG, POLICY_SCHEMA, POLICY_NAME
