// Package ident canonicalizes the names grantmirror compares: Snowflake identifiers,
// object names built from them, and people's email addresses.
package ident
