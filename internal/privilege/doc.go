// Package privilege holds Snowflake's privilege rules that grantmirror resolves ahead:
// what OWNERSHIP implies per object type and which grants are role inheritance.
package privilege
