// Package pgstore keeps grantmirror generations in a Postgres schema. Each kind
// of row has one table whose rows carry the range of generations they belong to;
// a publish writes only the rows that changed since the newest generation and
// makes the new one current by updating one row, in one transaction, so that
// readers switch from one complete generation to the next and never wait.
package pgstore
