package query_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/grantmirror/grantmirror/query"
)

// A data API lists the query history of the warehouses the viewer may use, with
// query text hidden from everyone but PII readers.
func ExampleBuilder_Select() {
	g := query.MustNew(query.Options{MaxStaleness: 3 * time.Hour})
	sql, args, err := g.Select(context.Background(), "Alice@Example.com",
		query.From("usage.query_history q"),
		query.Columns("q.id", "q.warehouse_name"),
		query.Guard("WAREHOUSE", "q.warehouse_name", "USAGE"),
		query.Mask("q.query_text", query.Redact, query.UnlessRole("PII_READER")),
		query.Where("q.started_at >= ?", time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)),
		query.OrderBy("q.id DESC"),
		query.Limit(50),
	).ToSql()
	if err != nil {
		panic(err)
	}
	fmt.Println(sql)
	fmt.Println(args[1], args[2], len(args))
	// Output:
	// SELECT q.id, q.warehouse_name, CASE WHEN (EXISTS (SELECT 1 FROM grantmirror.current gm__c WHERE coalesce(gm__c.snapshot_at, gm__c.published_at) >= $1) AND (EXISTS (SELECT 1 FROM grantmirror.memberships gm__m1 WHERE gm__m1.email = $2 AND gm__m1.role = ANY($3)))) THEN (q.query_text)::text ELSE '********'::text END AS query_text FROM (SELECT * FROM usage.query_history AS q WHERE EXISTS (SELECT 1 FROM grantmirror.current gm__c WHERE coalesce(gm__c.snapshot_at, gm__c.published_at) >= $1) AND EXISTS (SELECT 1 FROM grantmirror.access gm__a2 WHERE gm__a2.email = $2 AND gm__a2.object_type = $4 AND gm__a2.object_name = q.warehouse_name COLLATE "C" AND gm__a2.privilege = $5 AND gm__a2.object_name <> ALL(ARRAY(SELECT gm__r3.object_name FROM grantmirror.row_policies gm__r3 WHERE NOT gm__r3.allow AND NOT ($2 = ANY(gm__r3.admit_emails)) AND NOT EXISTS (SELECT 1 FROM grantmirror.memberships gm__m4 WHERE gm__m4.email = $2 AND gm__m4.account = gm__r3.account AND gm__m4.role = ANY(gm__r3.admit_roles)))))) AS q WHERE (q.started_at >= $6) ORDER BY q.id DESC LIMIT 50
	// alice@example.com [PII_READER] 6
}

// A statement built elsewhere (squirrel, or by hand) takes the guard as a condition
// with ? placeholders, which the outer builder renumbers.
func ExampleBuilder_Visible() {
	g := query.MustNew(query.Options{})
	cond, args, err := g.Visible(context.Background(), "bob@example.com",
		query.Guard("TABLE", "t.object_name", "SELECT")).ToSql()
	if err != nil {
		panic(err)
	}
	fmt.Println("SELECT t.* FROM catalog.tables t WHERE " + cond)
	fmt.Println(args[1:])
	// Output:
	// SELECT t.* FROM catalog.tables t WHERE (EXISTS (SELECT 1 FROM grantmirror.current gm__c WHERE coalesce(gm__c.snapshot_at, gm__c.published_at) >= ?) AND EXISTS (SELECT 1 FROM grantmirror.access gm__a1 WHERE gm__a1.email = ? AND gm__a1.object_type = ? AND gm__a1.object_name = t.object_name COLLATE "C" AND gm__a1.privilege = ? AND gm__a1.object_name <> ALL(ARRAY(SELECT gm__r2.object_name FROM grantmirror.row_policies gm__r2 WHERE NOT gm__r2.allow AND NOT (? = ANY(gm__r2.admit_emails)) AND NOT EXISTS (SELECT 1 FROM grantmirror.memberships gm__m3 WHERE gm__m3.email = ? AND gm__m3.account = gm__r2.account AND gm__m3.role = ANY(gm__r2.admit_roles))))))
	// [bob@example.com TABLE SELECT bob@example.com bob@example.com]
}

// Data that keeps database, schema and table in separate columns, as Snowflake's own
// views do, is guarded without a canonical-name column: the name is assembled in SQL.
func ExampleGuardParts() {
	g := query.MustNew(query.Options{Mode: query.Enforce})
	sql, _, err := g.Select(context.Background(), "carol@example.com",
		query.From("usage.table_storage s"),
		query.Columns("s.table_catalog", "s.table_schema", "s.table_name", "s.bytes"),
		query.GuardParts("TABLE", []string{"s.table_catalog", "s.table_schema", "s.table_name"}, "SELECT"),
	).ToSql()
	if err != nil {
		panic(err)
	}
	fmt.Println(sql)
	// Output:
	// SELECT s.table_catalog, s.table_schema, s.table_name, s.bytes FROM (SELECT * FROM usage.table_storage AS s WHERE EXISTS (SELECT 1 FROM grantmirror.current gm__c WHERE coalesce(gm__c.snapshot_at, gm__c.published_at) >= $1) AND EXISTS (SELECT 1 FROM grantmirror.access gm__a1 WHERE gm__a1.email = $2 AND gm__a1.object_type = $3 AND gm__a1.object_name = (CASE WHEN s.table_catalog ~ '^[A-Z_][A-Z0-9_$]*$' THEN s.table_catalog ELSE '"' || replace(s.table_catalog, '"', '""') || '"' END || '.' || CASE WHEN s.table_schema ~ '^[A-Z_][A-Z0-9_$]*$' THEN s.table_schema ELSE '"' || replace(s.table_schema, '"', '""') || '"' END || '.' || CASE WHEN s.table_name ~ '^[A-Z_][A-Z0-9_$]*$' THEN s.table_name ELSE '"' || replace(s.table_name, '"', '""') || '"' END) COLLATE "C" AND gm__a1.privilege = $4 AND gm__a1.object_name <> ALL(ARRAY(SELECT gm__r2.object_name FROM grantmirror.row_policies gm__r2 WHERE NOT gm__r2.allow AND NOT ($2 = ANY(gm__r2.admit_emails)) AND NOT EXISTS (SELECT 1 FROM grantmirror.memberships gm__m3 WHERE gm__m3.email = $2 AND gm__m3.account = gm__r2.account AND gm__m3.role = ANY(gm__r2.admit_roles)))))) AS s
}

// Tenants move to enforcement one at a time; until their date they run in shadow
// mode, which serves today's answer and measures what enforcement would hide.
func ExampleRollout() {
	now := time.Date(2025, 6, 15, 0, 0, 0, 0, time.UTC)
	g := query.MustNew(query.Options{
		Modes: query.Rollout{
			Before:    query.Shadow,
			EnforceOn: map[string]time.Time{"acme": time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)},
		},
		Now: func() time.Time { return now },
	})
	for _, tenant := range []string{"acme", "globex"} {
		ctx := query.WithTenant(context.Background(), tenant)
		s := g.Select(ctx, "dan@example.com", query.From("t"), query.Columns("t.id"),
			query.Guard("TABLE", "t.object_name", "SELECT"))
		fmt.Println(tenant, s.Mode())
	}
	// Output:
	// acme enforce
	// globex shadow
}

// A Where fragment that would reach past its parentheses is refused before anything
// runs: here it tries to OR itself around the guard.
func ExampleWhere() {
	g := query.MustNew(query.Options{})
	_, _, err := g.Select(context.Background(), "eve@example.com",
		query.From("usage.query_history q"), query.Columns("q.id"),
		query.Guard("WAREHOUSE", "q.warehouse_name", "USAGE"),
		query.Where("true) OR (true"),
	).ToSql()
	fmt.Println(errors.Is(err, query.ErrFragment))
	fmt.Println(err)
	// Output:
	// true
	// where: unsafe where fragment: "true) OR (true" closes a parenthesis it did not open
}

// An API scans rows with pgx's strict struct scan in every mode: in shadow mode the
// builder consumes the visible column itself and logs what enforcement would hide.
func ExampleCollect() {
	type queryRow struct {
		ID        int64  `db:"id"`
		Warehouse string `db:"warehouse_name"`
		QueryText string `db:"query_text"`
	}
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://app@db/app")
	if err != nil {
		panic(err)
	}
	g := query.MustNew(query.Options{Mode: query.Shadow, EmailDomains: map[string]string{"eu.example.com": "example.com"}})
	rows, err := query.Collect(ctx, pool, g.Select(ctx, "dan@eu.example.com",
		query.From("usage.query_history q"),
		query.Columns("q.id", "q.warehouse_name"),
		query.Guard("WAREHOUSE", "q.warehouse_name", "USAGE"),
		query.Mask("q.query_text", query.Redact, query.UnlessRole("PII_READER")),
		query.OrderBy("q.id DESC"), query.Limit(50),
	), pgx.RowToStructByName[queryRow])
	if err != nil {
		panic(err)
	}
	fmt.Println(len(rows), g.ShadowTotals())
}

// An API that would rather answer 503 than an empty page asks first whether the
// mirror's snapshot is recent enough.
func ExampleBuilder_CheckFresh() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://app@db/app")
	if err != nil {
		panic(err)
	}
	g := query.MustNew(query.Options{MaxStaleness: 3 * time.Hour})
	if err := g.CheckFresh(ctx, pool); errors.Is(err, query.ErrStale) {
		fmt.Println("503:", err)
	}
}

// Masks hide PII columns from viewers without a role; the column keeps its name and,
// for every strategy but Null, is text in every mode.
func ExampleMask() {
	g := query.MustNew(query.Options{})
	sql, _, err := g.Select(context.Background(), "frank@example.com",
		query.From("crm.contacts c"), query.Columns("c.id"),
		query.GuardObject("TABLE", "crm.public.contacts", "SELECT"),
		query.Mask("c.email", query.EmailDomain, query.UnlessRole("PII_READER")),
	).ToSql()
	if err != nil {
		panic(err)
	}
	fmt.Println(strings.Contains(sql, "AS email"))
	// Output:
	// true
}
