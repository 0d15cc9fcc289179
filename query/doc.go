// Package query builds reads that show a viewer only what Snowflake lets them see: every
// statement carries inline WHERE EXISTS guards on the published grant mirror and PII masks.
package query
