// Package model is grantmirror's domain model: what a sync reads (Snapshot and its
// records), what it publishes (Mirror: the access rows with their provenance, the
// Meta and settings that shaped them), what a store keeps (Generation, RunRecord)
// and the contracts between them (Store, Reader), with the rules that belong to
// the data rather than to any one program: canonical names and the role graph,
// the revocation guard (CheckChanges), the reference answers a store's reads must
// equal (SliceOf, ChangesOf), and one taxonomy of errors for sources and targets.
//
// It imports no other grantmirror package but two leaves, the canonicalization of
// names (internal/ident) and the privilege rules (internal/privilege), so
// the ETL (pipeline), the stores (pipeline/pgstore, pipeline/dirstore), the read
// side (explain, lint, report) and the CLI share its types without depending on
// each other: the CLI decides nothing, and a reader needs no ETL to answer.
package model
