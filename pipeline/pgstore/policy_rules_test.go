package pgstore

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/jackc/pgx/v5"

	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/pipeline/model"
	"github.com/grantmirror/grantmirror/query"
)

// TestPolicyRulesPublished: the rules of masked columns reach the masked_columns
// view and come back whole; the fifth migration (with the sixth, which reads its
// rules), undone and redone under a published generation, keeps the view on that
// generation's rows.
func TestPolicyRulesPublished(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, f := setup(t)
	snap, err := pipeline.ReadSnapshot("../../testdata/conformance/policies")
	require.NoError(t, err)
	m, err := pipeline.Flatten(snap, pipeline.Options{Now: time.Date(2026, 11, 1, 1, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	_, err = s.Publish(ctx, m, model.DefaultPublishOptions())
	require.NoError(t, err)

	g, err := s.Current(ctx)
	require.NoError(t, err)
	back, err := s.Open(ctx, g.Number)
	require.NoError(t, err)
	require.Equal(t, m.Masked, back.Masked)
	rules := f.count(t, `SELECT count(*) FROM %s.masked_columns WHERE rule <> ''`)
	withRule := 0
	for _, c := range m.Masked {
		if c.Rule != nil {
			withRule++
		}
	}
	require.Equal(t, withRule, rules)
	require.Equal(t, 1, f.count(t, `SELECT count(*) FROM %s.masked_columns WHERE column_name = 'SSN' AND rule::jsonb -> 'emails' ? 'bea@example.com'`))

	p, done, err := s.provider()
	require.NoError(t, err)
	defer done()
	_, err = p.DownTo(ctx, 4)
	require.NoError(t, err)
	require.Equal(t, len(m.Masked), f.count(t, `SELECT count(*) FROM %s.masked_columns`), "undone: the view still shows the generation")
	require.Zero(t, f.count(t, `SELECT count(*) FROM information_schema.columns WHERE table_schema = $1 AND column_name = 'rule'`, f.schema))
	_, err = p.Up(ctx)
	require.NoError(t, err)
	require.Equal(t, len(m.Masked), f.count(t, `SELECT count(*) FROM %s.masked_columns`))
	require.Equal(t, 0, f.count(t, `SELECT count(*) FROM %s.masked_columns WHERE rule <> ''`), "a generation from before the migration has no rules")
}

// TestRowPoliciesView: row_policies lists each object's row access policy with whom
// it admits — the roles and people of a translated policy, everyone or nobody by the
// fallback of an untranslated one, nobody for a row without a rule — for the current
// generation only, and the query package's guards read it.
func TestRowPoliciesView(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, f := setup(t)
	snap, err := pipeline.ReadSnapshot("../../testdata/conformance/policies")
	require.NoError(t, err)
	m, err := pipeline.Flatten(snap, pipeline.Options{Now: time.Date(2026, 11, 1, 1, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	m.Masked = append(m.Masked,
		model.MaskedColumn{Account: m.Meta.Accounts[0].Name, ObjectName: "HR.CORE.OPEN", Reason: "row access policy GOV.POL.ODD",
			Rule: &model.PolicyRule{Kind: model.RowAccessRule, Policy: "GOV.POL.ODD", Fallback: model.FallbackAllow}},
		model.MaskedColumn{Account: m.Meta.Accounts[0].Name, ObjectName: "HR.CORE.BY_EMAIL", Reason: "row access policy GOV.POL.MINE",
			Rule: &model.PolicyRule{Kind: model.RowAccessRule, Policy: "GOV.POL.MINE", Translated: true, Emails: []string{"bea@example.com"}}})
	_, err = s.Publish(ctx, m, model.DefaultPublishOptions())
	require.NoError(t, err)

	type policy struct {
		Object string
		Roles  []string
		Emails []string
		Allow  bool
	}
	read := func() []policy {
		rows, err := f.admin.Query(ctx, f.sql(`SELECT object_name, admit_roles, admit_emails, allow FROM %s.row_policies ORDER BY object_name`))
		require.NoError(t, err)
		out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[policy])
		require.NoError(t, err)
		return out
	}
	want := []policy{
		{"HR.CORE.BY_EMAIL", []string{}, []string{"bea@example.com"}, false},
		{"HR.CORE.OPEN", []string{}, []string{}, true},
		{"HR.CORE.PEOPLE", []string{"ANALYST"}, []string{}, false},
		{"SALES.PUBLIC.ORDERS", []string{}, []string{}, false},
	}
	require.Equal(t, want, read())

	// The query package's guards read the view: ana holds ANALYST, which PEOPLE's
	// policy admits, and SELECT on the table.
	b, err := query.New(query.Options{Schema: f.schema, MaxStaleness: query.NoStalenessLimit})
	require.NoError(t, err)
	visible := func() bool {
		sql, args, err := b.Visible(ctx, "ana@example.com", query.GuardObject("TABLE", "hr.core.people", "SELECT")).Format(query.Dollar).ToSql()
		require.NoError(t, err)
		var ok bool
		require.NoError(t, f.admin.QueryRow(ctx, "SELECT "+sql, args...).Scan(&ok))
		return ok
	}
	require.True(t, visible())
	f.exec(t, `UPDATE %s.masked_rows SET rule = '{"kind":"row_access","translated":true,"roles":["AUDITOR"]}' WHERE object_name = 'HR.CORE.PEOPLE'`)
	require.False(t, visible(), "a policy admitting a role ana does not hold")
	f.exec(t, `UPDATE %s.masked_rows SET rule = '{"kind":"row_access","translated":true,"roles":["ANALYST"]}' WHERE object_name = 'HR.CORE.PEOPLE'`)

	// A row published without a rule admits nobody.
	f.exec(t, `UPDATE %s.masked_rows SET rule = '' WHERE object_name = 'HR.CORE.OPEN'`)
	want[1].Allow = false
	require.Equal(t, want, read())

	// The next generation's policies replace these.
	m.Masked = m.Masked[:0]
	_, err = s.Publish(ctx, m, model.DefaultPublishOptions())
	require.NoError(t, err)
	require.Empty(t, read())
}
