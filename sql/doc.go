// Package sql embeds every SQL statement grantmirror sends to Postgres or Snowflake.
// Each dialect lives in its own folder and is exposed as its own embed.FS, so Go
// code refers to statements by file name and never builds SQL text by hand.
package sql
