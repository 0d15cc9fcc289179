// Package sample generates synthetic Snowflake accounts with the shapes real ones
// have: deep role hierarchies, database roles, service accounts, revoked grants.
package sample
