// Package snowflake extracts the grant graph of live Snowflake accounts into a snapshot directory,
// reading SNOWFLAKE.ACCOUNT_USAGE through gosnowflake as Arrow batches; it is the only importer of the driver.
package snowflake
