package query_test

import (
	"context"
	"fmt"
	"time"

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
	// SELECT q.id, q.warehouse_name, CASE WHEN (EXISTS (SELECT 1 FROM grantmirror.current gm__c WHERE gm__c.published_at >= $1) AND (EXISTS (SELECT 1 FROM grantmirror.memberships gm__m1 WHERE gm__m1.email = $2 AND gm__m1.role = ANY($3)))) THEN (q.query_text)::text ELSE '********'::text END AS query_text FROM usage.query_history AS q WHERE (q.started_at >= $4) AND EXISTS (SELECT 1 FROM grantmirror.current gm__c WHERE gm__c.published_at >= $1) AND EXISTS (SELECT 1 FROM grantmirror.access gm__a2 WHERE gm__a2.email = $2 AND gm__a2.object_type = $5 AND gm__a2.object_name = q.warehouse_name AND gm__a2.privilege = $6) ORDER BY q.id DESC LIMIT $7
	// alice@example.com [PII_READER] 7
}
