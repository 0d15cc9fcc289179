// Package rls guards a product's Postgres table with row-level security, for
// clients that do not read through the query builder: psql, an ORM, a BI tool, a
// Python or Node service. Enable installs a policy on the table that admits a row
// only when the viewer named for the transaction (SET LOCAL grantmirror.viewer)
// holds the privilege on the row's object in the mirror, the object's Snowflake row
// access policy (if any) admits the viewer, and only while the mirror is fresh;
// Disable removes it and Status reports it. The row access policies are read by
// rls_denied, once per statement, with the rights of the role that ran Enable, so
// reading roles need only the access and current views.
//
// The SQL lives in sql/postgres/rls_*.sql. Every name spliced into it is first
// checked with the query builder's identifier rules, then resolved by Postgres
// against the catalog and quoted from the catalog's spelling, so a name is never
// sent as typed. Object types and privileges are the builder's known words.
//
// Cost follows the viewer. Once per statement the policy chooses a mode
// (rls_mode): for a viewer within the set limit, Postgres reads their visible
// objects once (rls_objects) and hashes them, so each row costs a hash lookup
// and no probe of the mirror; a viewer who holds more rows than the set limit
// skips the set and each row is decided by one index probe of the mirror, which
// is cheaper than building a large set when a page reads few rows, and much
// dearer when a read visits every row (see DefaultSetLimit). Postgres still
// drives the read by the query's own plan (an ORDER BY id LIMIT reads the id
// index and filters); a policy is a filter and cannot make the planner merge
// per-object index scans, which is why very sparse viewers of such reads cost
// more through RLS than through the builder.
//
// The table's owner, and roles with BYPASSRLS, are not subject to policies unless
// the table forces row-level security (Spec.ForceOwner). With row-level security
// on, roles other than the owner can only do what a policy allows: the one
// installed here allows SELECT, so other roles' INSERT, UPDATE and DELETE are
// refused until the table has policies for them.
package rls
