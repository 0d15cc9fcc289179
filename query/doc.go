// Package query builds reads that show a viewer only what Snowflake lets them see.
// Every statement it builds carries guards on the grant mirror that grantmirror sync
// publishes into the product's database, and masks for PII columns; values are bind
// parameters and identifiers are validated.
//
//	g := query.MustNew(query.Options{MaxStaleness: 3 * time.Hour})
//	rows, err := query.Collect(ctx, pool, g.Select(ctx, viewerEmail,
//		query.From("usage.query_history q"),
//		query.Columns("q.id", "q.warehouse_name", "q.started_at"),
//		query.Guard("WAREHOUSE", "q.warehouse_name", "USAGE"),
//		query.Mask("q.query_text", query.Redact, query.UnlessRole("PII_READER")),
//		query.Where("q.started_at >= ?", since),
//		query.OrderBy("q.started_at DESC", "q.id DESC"), query.Limit(50),
//	), pgx.RowToStructByName[QueryRow])
//
// The builder relies on the mirror's published contract only: the views
// grantmirror.access(account, email, object_type, object_name, privilege),
// memberships(account, email, role), masked_columns, row_policies(account,
// object_name, admit_roles, admit_emails, allow) and current(generation,
// published_at, snapshot_at), and, when it can read it, viewer_objects(account,
// email, object_type, privilege, objects). Options.Schema and Options.AccessTable
// point elsewhere.
//
// # Guards
//
// A guard admits a row when the viewer holds a privilege on the Snowflake object the
// row belongs to. Guard names the column holding the object's canonical name
// (SALES.PUBLIC.ORDERS, SALES.CORE."lines"); GuardParts assembles it from database,
// schema and name columns; GuardObject checks one fixed object once per statement;
// AnyOf ORs checks, and checks given to Select are ANDed. A statement without a guard
// is an error (ErrNoGuard) unless it says Unguarded. The viewer's address is
// normalized the way the sync normalized the mirror's: give Options.EmailDomains the
// same aliases as the sync's email.domain_aliases. Options.Account restricts a
// multi-account mirror to one account.
//
// Every guard also applies Snowflake's row access policies: a row of an object whose
// policy does not admit the viewer does not pass, whatever the grants say. A
// translated policy admits the viewers who hold one of its roles in its account (as
// memberships lists them) or whose primary role it tests; one grantmirror could not
// translate admits as the sync's policy_fallback says (deny unless "allow"). Postgres
// computes the objects denied to the viewer once per statement, and each row costs
// one comparison with that list: nothing measurable in an account without row access
// policies. Without Options.Account, a policy in any account of the mirror applies
// to the object's name.
//
// Guards live in a subquery of their own, which the rest of the statement reads:
//
//	SELECT … FROM (SELECT * FROM t AS d WHERE <fresh> AND EXISTS (<mirror probe>)) AS d
//	WHERE (<fragment>) ORDER BY … LIMIT …
//
// The probe binds all leading columns of the mirror's unique index, so Postgres
// probes the index or turns the EXISTS into a join driven by it. It also requires
// the object not to be among those row access policies deny the viewer,
// object_name <> ALL(ARRAY(<denied objects>)), an uncorrelated subquery Postgres
// evaluates once per statement.
//
// # Where fragments
//
// Where adds SQL written by hand with ? or $n placeholders. A fragment must be one
// balanced expression: a parenthesis closed before it was opened or left open, a --
// or /* comment, a semicolon, or a backslash before a quote in a plain string is
// refused with ErrFragment, because each could make the fragment reach past the
// parentheses around it. Even a fragment that could, would only filter what the
// guarded subquery admitted. Fragments still see clear values of masked columns: do
// not let a viewer choose filters on them.
//
// # Paged reads, and full reads of sparse viewers
//
// A read guarded by a Guard is one statement with two branches, of which one-time
// filters switch on exactly one at each execution, so it is planned and prepared once
// for every viewer. Paged (OrderBy and Limit):
//
//	WITH gm__r AS MATERIALIZED (SELECT ARRAY(<objects row access policies deny the viewer>) AS objects),
//	     gm__n AS MATERIALIZED (SELECT <the viewer's count from viewer_objects> AS objects),
//	     gm__o AS MATERIALIZED (SELECT object_name FROM access WHERE <viewer> AND <not counted dense> LIMIT SparseObjects+1),
//	     gm__s AS MATERIALIZED (SELECT <count of gm__o ≤ SparseObjects> AND <index exists> AS sparse, <counted ≤ HashedObjects> AS hashed),
//	     gm__v AS MATERIALIZED (SELECT DISTINCT object_name FROM gm__o WHERE <not in gm__r> AND <sparse> AND <fresh>),
//	     gm__k AS MATERIALIZED (<each object's best ceil(n ÷ objects) sort keys>),
//	     gm__t AS MATERIALIZED (<the n-th best key of gm__k>)
//	SELECT … FROM (
//	    (SELECT d.* FROM <gm__v, or with the count the objects of gm__k reaching gm__t> CROSS JOIN LATERAL
//	        (<rows of one object sorting no later than gm__t> ORDER BY … LIMIT n) AS d)
//	    UNION ALL
//	    (<the table in sort order, WHERE NOT sparse AND fresh AND
//	        CASE WHEN hashed THEN object IN (<the viewer's objects>) ELSE EXISTS (probe) END> ORDER BY … LIMIT n)
//	) AS d ORDER BY … LIMIT … OFFSET …
//
// The mirror publishes how many objects each viewer holds each privilege on
// (viewer_objects, one probe of an index), which chooses the shape without reading
// the viewer's entries: a viewer counted above SparseObjects is not listed at all,
// and one counted at most HashedObjects has the row's object looked up in a hashed
// set of their objects, built once per execution, instead of a mirror probe per row
// the page passes. The count is an upper bound (a local grant of an object the mirror
// grants too counts twice) and only ever chooses the shape: every shape returns the
// same rows. Against a schema without viewer_objects, or a role that may not read
// it, or with Options.AccessTable pointing elsewhere, gm__n is left out and the
// count comes from gm__o as before.
//
// The sparse branch runs for a viewer who sees at most SparseObjects objects through
// the guard, counted by one index-only scan of the mirror that stops after
// SparseObjects+1 rows and also lists them, when the table has a btree index on
// (guarded column, first sort column) and that sort column is NOT NULL. gm__t, the
// bound, comes from the best ceil(n ÷ objects) keys of each object (n = LIMIT+OFFSET),
// and from n keys of each only when those are fewer than n. A sparse page costs one
// short index descent per visible object for the bound, one more for each object
// that can hold a row of the page (with the count, at most about n of them; without
// it, every object), and about a page of rows, where the probing
// branch costs one probe per row it passes, page ÷ visibility of them. The mirror and
// its local grants are read once per statement, not once per row. Create the index
// for the tables your API pages through:
//
//	CREATE INDEX ON usage.query_history (warehouse_name, started_at, id);
//
// A full read (no OrderBy or no Limit; both then apply to the union) has the same two
// branches without the bound: a sparse viewer's rows are read object by object through
// any btree index whose first key is the guarded column, a dense viewer's in one pass
// over the table with a probe per row. The statement never runs in parallel workers:
// a Gather would start them for the switched-off branch too.
//
// Without the index, or for a dense viewer, the statement is the probing branch alone
// in effect, as fast as the probe allows. Whether the table has the index is looked up
// once per builder and table and kept for a few minutes (Stmt.Learn, which Query and
// Collect call; call it before ToSql to see the statement they run); the statement
// checks it again at every execution. Other guards, AnyOf, GuardParts, Where
// fragments and masks all work in both branches. ORDER BY items of a paged read must
// be columns of the table for the split (not names from the select list); otherwise
// the plain shape is used.
//
// JIT: with jit = on (Postgres's default) a statement whose estimated cost passes
// jit_above_cost is compiled at every execution. The estimate adds up both branches,
// so on a large table a sparse viewer's read pays the compile (60–70 ms at a million
// rows) for work that takes 2 ms. Turn JIT off for the role your API reads with
// (ALTER ROLE api SET jit = off).
//
// # Masks
//
// Mask shows a column masked (Redact, Null, Hash, Partial, EmailDomain) to viewers who
// meet none of its unless conditions (UnlessRole, UnlessPrivilege). LoadMasks reads
// the columns Snowflake marks with masking policies or PII tags from masked_columns.
// Every strategy but Null returns text in every mode, so switching modes never changes
// the types an API scans. A stale mirror masks everything.
//
// # Shadow mode
//
// Shadow (Options.Mode, or per tenant with Options.Modes and Rollout) serves every row
// unmasked, as if grantmirror were not there, and measures what Enforce would hide.
// Through Query and Collect the rows look exactly as in Off mode, so the same
// pgx.RowToStructByName scan serves every mode; the builder reads the statement's
// last column, visible, itself, logs one Info record "grantmirror shadow mismatch"
// (viewer, tenant, rows, hidden) to Options.Logger for each statement that served rows
// Enforce would have hidden, and adds the counts to Builder.ShadowTotals for metrics.
// ToSql keeps visible as the last column for callers that run the SQL themselves.
// CountHidden measures an enforced statement the same way, with a second read.
//
// # Staleness
//
// A mirror is as old as the Snowflake snapshot it was computed from, not as its
// publish: current.snapshot_at, when Snowflake was read, is what MaxStaleness judges
// (DefaultMaxStaleness when zero). A 31-day-old snapshot published a minute ago fails
// a 3-hour limit. A snapshot that recorded no extraction time is judged by its publish
// time, the only time known. Past the limit, or before the first publish, guards admit
// no row and masks hide every value, inside the statement's own SQL; CheckFresh makes
// the same decision up front for an API that would rather answer 503 than an empty
// page.
//
// # sqlc and hand-written SQL
//
// Builder.Visible and Builder.Filter return a guard as a condition with ?
// placeholders to drop into a statement built elsewhere (squirrel, hand-written SQL).
// For sqlc, the guard written as plain SQL with named parameters and a compiled,
// tested example are in examples/sqlc.
//
// # Row-level security
//
// Clients that do not go through Go — psql, an ORM, a BI tool, services in other
// languages — can be held to the same mirror by Postgres row-level security policies,
// which the grantmirror rls command installs on a table (see grantmirror rls --help).
package query
