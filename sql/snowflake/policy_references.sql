-- policy_references.csv: masking, row access and projection policies attached to
-- tables, views, columns and tags, so the mirror can follow the policies Snowflake
-- enforces. A tag-based masking policy is listed once per column it reaches, with
-- the tag in TAG_DATABASE, TAG_SCHEMA and TAG_NAME; POLICY_STATUS says when
-- Snowflake cannot apply an assignment.
SELECT
    POLICY_DB,
    POLICY_SCHEMA,
    POLICY_NAME,
    POLICY_KIND,
    REF_DATABASE_NAME,
    REF_SCHEMA_NAME,
    REF_ENTITY_NAME,
    REF_ENTITY_DOMAIN,
    REF_COLUMN_NAME,
    TAG_DATABASE,
    TAG_SCHEMA,
    TAG_NAME,
    POLICY_STATUS
FROM SNOWFLAKE.ACCOUNT_USAGE.POLICY_REFERENCES
ORDER BY REF_DATABASE_NAME, REF_SCHEMA_NAME, REF_ENTITY_NAME, REF_COLUMN_NAME, POLICY_NAME
