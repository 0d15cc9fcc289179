// Command dataapi is a small data API that serves Snowflake query history through the
// query package, so each viewer sees only the warehouses Snowflake lets them use.
package main
