// Package pgstore keeps grantmirror generations in a Postgres schema, loaded with
// COPY and published by swapping the schema's views in one short transaction.
package pgstore
