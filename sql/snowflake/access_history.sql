-- access_history.csv: who read what, aggregated by user and object over the last
-- N days (the one bind parameter, HistoryDays). DIRECT_OBJECTS_ACCESSED holds the
-- objects a query named, such as a view, which is what a grant was needed on;
-- BASE_OBJECTS_ACCESSED would charge the tables behind the view instead.
-- ACCESS_HISTORY needs Enterprise edition; without it this file is simply absent.
SELECT
    ah.USER_NAME AS USER_NAME,
    obj.value:"objectDomain"::VARCHAR AS OBJECT_DOMAIN,
    obj.value:"objectName"::VARCHAR AS OBJECT_NAME,
    TO_VARCHAR(MAX(ah.QUERY_START_TIME), 'YYYY-MM-DD HH24:MI:SS.FF3 TZHTZM') AS LAST_ACCESSED,
    TO_VARCHAR(COUNT(DISTINCT ah.QUERY_ID)) AS QUERY_COUNT
FROM SNOWFLAKE.ACCOUNT_USAGE.ACCESS_HISTORY AS ah,
    LATERAL FLATTEN(input => ah.DIRECT_OBJECTS_ACCESSED) AS obj
WHERE ah.QUERY_START_TIME >= DATEADD(day, -1 * ?, CURRENT_TIMESTAMP())
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3
