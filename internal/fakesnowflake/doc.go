// Package fakesnowflake is an in-process Snowflake speaking the REST protocol of gosnowflake,
// answering ACCOUNT_USAGE queries from a snapshot directory so extraction is tested without an account.
package fakesnowflake
