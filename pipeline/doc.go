// Package pipeline is grantmirror's ETL: it reads a snapshot of an account's grant graph,
// flattens it into email × object × privilege rows with their role paths, and publishes them
// to a store. The types it reads and writes are those of package model.
package pipeline
