// Package explain answers "why can this person see that object?" from a published
// generation's provenance, in the words of Snowflake roles and grants.
package explain
