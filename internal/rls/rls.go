package rls

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/grantmirror/grantmirror/internal/ident"
	"github.com/grantmirror/grantmirror/query"
	gmsql "github.com/grantmirror/grantmirror/sql"
)

// PolicyName is the name of the policy Enable installs on a table.
const PolicyName = "grantmirror_guard"

// Defaults of Spec.
const (
	// DefaultMaxStaleness matches the query builder's: a mirror whose snapshot is
	// older admits no row.
	DefaultMaxStaleness = query.DefaultMaxStaleness
	// DefaultSetLimit is how many mirror rows (objects, for one type and
	// privilege) a viewer may hold for the policy to build their visible set; past
	// it, each row is decided by a probe of the mirror. The set costs about a
	// microsecond per object to build, once per statement, and then next to
	// nothing per row; a probe costs a few microseconds per row read. A page of 50
	// rows reads few rows, so probing wins for viewers who see much; a full or
	// aggregate read (a BI tool's) reads every row, and there a probe per row
	// costs ten times the read itself. The default favours full reads up to ten
	// thousand visible objects; services that only page can lower it.
	DefaultSetLimit = 10_000
)

// commentPrefix starts the policy's comment, which stores its settings.
const commentPrefix = "grantmirror rls "

// Spec says how to guard a table.
type Spec struct {
	// Table is the product's table, as a person types it: app.events, events
	// (found through search_path), "Events".
	Table string
	// ObjectColumn holds each row's object as a canonical name
	// (SALES.PUBLIC.ORDERS, SALES.CORE."lines"). Exactly one of ObjectColumn and
	// ObjectParts is set.
	ObjectColumn string
	// ObjectParts are the columns holding the object's name in parts, as
	// Snowflake stores them (unquoted, exact case): database, or database and
	// schema, or database, schema and name.
	ObjectParts []string
	// AccountColumn, when set, holds each row's Snowflake account: the row's
	// object must be granted in that account.
	AccountColumn string
	// ObjectType and Privilege are what the viewer must hold on the row's object,
	// as Snowflake spells them (TABLE, SELECT).
	ObjectType string
	Privilege  string
	// MaxStaleness is how old the current generation's snapshot may be before
	// the policy admits no row; zero means DefaultMaxStaleness.
	MaxStaleness time.Duration
	// SetLimit: see DefaultSetLimit; zero means the default.
	SetLimit int
	// ForceOwner makes the table's owner subject to the policy too (FORCE ROW
	// LEVEL SECURITY). Roles with BYPASSRLS, and superusers, still bypass it.
	ForceOwner bool
}

// Settings are a policy's settings as stored with it, names as the catalog
// spells them.
type Settings struct {
	Schema        string   `json:"schema"`
	ObjectColumn  string   `json:"object_column,omitempty"`
	ObjectParts   []string `json:"object_parts,omitempty"`
	AccountColumn string   `json:"account_column,omitempty"`
	ObjectType    string   `json:"object_type"`
	Privilege     string   `json:"privilege"`
	MaxStaleness  Duration `json:"max_staleness"`
	SetLimit      int      `json:"set_limit"`
}

// Duration is a time.Duration written as text (6h0m0s) in JSON.
type Duration time.Duration

// MarshalText writes the duration as time.Duration.String does.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads what MarshalText wrote.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	*d = Duration(v)
	return err
}

// Table is what Status knows of one table.
type Table struct {
	Name  string `json:"table"` // schema-qualified, quoted where needed
	Owner string `json:"owner"`
	// Enabled and Forced are the table's ROW LEVEL SECURITY flags.
	Enabled bool `json:"rls_enabled"`
	Forced  bool `json:"rls_forced"`
	// Guarded is whether grantmirror's policy is on the table; Settings are its
	// settings (nil when the comment was edited away).
	Guarded  bool      `json:"guarded"`
	Settings *Settings `json:"settings,omitempty"`
	// OtherPolicies are the table's other policies, which Postgres ORs with
	// grantmirror's: each can only widen what a role sees.
	OtherPolicies []string `json:"other_policies"`
}

// DB is what a connection, a pool and a transaction have in common.
type DB interface {
	Begin(ctx context.Context) (pgx.Tx, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// statements are the rls_*.sql files of sql/postgres, by name without rls_ and
// .sql, with their leading comment lines dropped.
var statements = func() map[string]string {
	entries, err := fs.Glob(gmsql.Postgres, "postgres/rls_*.sql")
	if err != nil || len(entries) == 0 {
		panic(fmt.Sprintf("rls: embedded statements: %v", err))
	}
	m := map[string]string{}
	for _, e := range entries {
		b, err := fs.ReadFile(gmsql.Postgres, e)
		if err != nil {
			panic(err)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(path.Base(e), "rls_"), ".sql")
		m[name] = stripComments(string(b))
	}
	return m
}()

// stripComments drops the file's leading comment lines, so that a fragment
// spliced into a policy carries no comment into the catalog.
func stripComments(s string) string {
	lines := strings.Split(s, "\n")
	for len(lines) > 0 && (strings.HasPrefix(lines[0], "--") || strings.TrimSpace(lines[0]) == "") {
		lines = lines[1:]
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// stmt returns a statement with its placeholders filled. Values are SQL the
// caller built from catalog names, validated words and integers.
func stmt(name string, v map[string]string) string {
	q, ok := statements[name]
	if !ok {
		panic("rls: no statement sql/postgres/rls_" + name + ".sql")
	}
	for k, val := range v {
		q = strings.ReplaceAll(q, "{{"+k+"}}", val)
	}
	if strings.Contains(q, "{{") {
		panic("rls: sql/postgres/rls_" + name + ".sql has an unfilled placeholder")
	}
	return q
}

// word is what a validated object type or privilege looks like; only such
// words are written into a policy as literals.
var word = regexp.MustCompile(`^[A-Z0-9_]+( [A-Z0-9_]+)*$`)

// checkSpec validates the settings with the query builder's rules, as a Go
// service's guard on the same table would be: the table as one FROM item
// without an alias, columns of it, a known object type and privilege. It
// returns the normalized type and privilege.
func checkSpec(ctx context.Context, schema string, s Spec) (objectType, privilege string, err error) {
	fail := func(err error) (string, string, error) { return "", "", fmt.Errorf("%w: %w", ErrSpec, err) }
	b, err := query.New(query.Options{Schema: schema})
	if err != nil {
		return fail(err)
	}
	if strings.TrimSpace(s.Table) == "" {
		return fail(errors.New("no table"))
	}
	switch {
	case s.ObjectColumn == "" && len(s.ObjectParts) == 0:
		return fail(errors.New("no object column: name one, or the database, schema and name columns"))
	case s.ObjectColumn != "" && len(s.ObjectParts) > 0:
		return fail(errors.New("an object column and object parts: name one or the other"))
	case len(s.ObjectParts) > 3:
		return fail(fmt.Errorf("%d object parts: want database, schema and name at most", len(s.ObjectParts)))
	case s.MaxStaleness < 0:
		return fail(fmt.Errorf("max staleness %v is negative", s.MaxStaleness))
	case s.SetLimit < 0:
		return fail(fmt.Errorf("set limit %d is negative", s.SetLimit))
	}
	columns := append([]string{}, s.ObjectParts...)
	check := query.GuardParts(s.ObjectType, s.ObjectParts, s.Privilege)
	if s.ObjectColumn != "" {
		columns = []string{s.ObjectColumn}
		check = query.Guard(s.ObjectType, s.ObjectColumn, s.Privilege)
	}
	if s.AccountColumn != "" {
		columns = append(columns, s.AccountColumn)
	}
	for _, c := range columns {
		// Columns of the guarded table only: the policy qualifies them itself.
		if strings.Contains(c, ".") && !strings.HasPrefix(strings.TrimSpace(c), `"`) {
			return fail(fmt.Errorf("%w: column %q: name the column alone, without its table", query.ErrIdentifier, c))
		}
	}
	if _, _, err := b.Select(ctx, "rls@example.com", query.From(s.Table), query.Columns(columns...), check).ToSql(); err != nil {
		return fail(err)
	}
	objectType, privilege = ident.Word(s.ObjectType), ident.Privilege(s.Privilege)
	if !word.MatchString(objectType) || !word.MatchString(privilege) {
		return fail(fmt.Errorf("object type %q, privilege %q", s.ObjectType, s.Privilege))
	}
	return objectType, privilege, nil
}

// resolved is a table as the catalog names it.
type resolved struct {
	oid      uint32
	schema   string
	name     string
	kind     string
	owner    string
	enabled  bool
	forced   bool
	sql      string // schema-qualified, quoted
	relation string // the bare table name, quoted, to qualify its columns
}

func resolveTable(ctx context.Context, db DB, table string) (resolved, error) {
	var r resolved
	err := db.QueryRow(ctx, stmt("resolve_table", nil), strings.TrimSpace(table)).
		Scan(&r.oid, &r.schema, &r.name, &r.kind, &r.owner, &r.enabled, &r.forced)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, fmt.Errorf("%w: table %s", ErrNotFound, table)
	}
	if code(err) == "22023" {
		return r, fmt.Errorf("%w: table %q: %w", ErrSpec, table, err)
	}
	if err != nil {
		return r, fmt.Errorf("look up table %s: %w", table, err)
	}
	if r.kind != "r" && r.kind != "p" {
		return r, fmt.Errorf("%w: %s is not a table (relkind %s): policies guard tables; guard the table a view reads", ErrSpec, table, r.kind)
	}
	r.sql = pgx.Identifier{r.schema, r.name}.Sanitize()
	r.relation = pgx.Identifier{r.name}.Sanitize()
	return r, nil
}

// column resolves one column of t and returns its name as the catalog spells it.
func (t resolved) column(ctx context.Context, db DB, name string) (string, error) {
	var attname, typ string
	var text bool
	err := db.QueryRow(ctx, stmt("resolve_column", nil), t.oid, strings.TrimSpace(name)).Scan(&attname, &typ, &text)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("%w: column %s of %s", ErrNotFound, name, t.sql)
	}
	if code(err) == "22023" {
		return "", fmt.Errorf("%w: column %q: %w", ErrSpec, name, err)
	}
	if err != nil {
		return "", fmt.Errorf("look up column %s of %s: %w", name, t.sql, err)
	}
	if !text {
		return "", fmt.Errorf("%w: column %s of %s is %s: want text or varchar, as the mirror's names are", ErrColumnType, attname, t.sql, typ)
	}
	return attname, nil
}

// ref is a column of t as the policy writes it: qualified with the table's bare
// name, because inside the policy's subquery an unqualified name could resolve
// to the mirror's own columns.
func (t resolved) ref(column string) string {
	return t.relation + "." + pgx.Identifier{column}.Sanitize()
}

func code(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// quoteSchema validates the mirror's schema name as the query builder does and
// quotes it.
func quoteSchema(schema string) (string, error) {
	if schema == "" {
		schema = query.DefaultSchema
	}
	if _, err := query.New(query.Options{Schema: schema}); err != nil {
		return "", fmt.Errorf("%w: %w", ErrSpec, err)
	}
	if strings.ContainsAny(schema, `".`) || strings.ToLower(schema) != schema {
		return "", fmt.Errorf("%w: schema %q: want the mirror's lowercase schema name", ErrSpec, schema)
	}
	return pgx.Identifier{schema}.Sanitize(), nil
}

// Enable installs (or replaces) grantmirror's policy on the table and turns row-level
// security on, in one transaction: readers see the table unguarded until it
// commits and guarded after. The mirror's schema must be migrated. It returns
// the table as Status would.
func Enable(ctx context.Context, db DB, schema string, s Spec) (Table, error) {
	if schema == "" {
		schema = query.DefaultSchema
	}
	quoted, err := quoteSchema(schema)
	if err != nil {
		return Table{}, err
	}
	objectType, privilege, err := checkSpec(ctx, schema, s)
	if err != nil {
		return Table{}, err
	}
	if s.MaxStaleness == 0 {
		s.MaxStaleness = DefaultMaxStaleness
	}
	if s.SetLimit == 0 {
		s.SetLimit = DefaultSetLimit
	}
	var ready, readable bool
	if err := db.QueryRow(ctx, stmt("mirror_ready", nil), schema).Scan(&ready, &readable); err != nil {
		return Table{}, fmt.Errorf("look up the mirror schema %s: %w", schema, err)
	}
	if !ready {
		return Table{}, fmt.Errorf("%w: schema %s lacks the access, current, memberships or row_policies view; run grantmirror migrate first", ErrNoMirror, schema)
	}
	// The policy applies Snowflake's row access policies through rls_denied, which
	// reads row_policies and memberships with the installer's rights so that
	// readers need no more than the access and current views.
	if !readable {
		return Table{}, fmt.Errorf("%w: the installing role cannot read %s.row_policies and %s.memberships, which the policy reads with its rights", ErrSpec, schema, schema)
	}
	t, err := resolveTable(ctx, db, s.Table)
	if err != nil {
		return Table{}, err
	}
	set := Settings{Schema: schema, ObjectType: objectType, Privilege: privilege,
		MaxStaleness: Duration(s.MaxStaleness), SetLimit: s.SetLimit}
	var object string
	if s.ObjectColumn != "" {
		if set.ObjectColumn, err = t.column(ctx, db, s.ObjectColumn); err != nil {
			return Table{}, err
		}
		object = t.ref(set.ObjectColumn)
	} else {
		var parts []string
		for _, p := range s.ObjectParts {
			c, err := t.column(ctx, db, p)
			if err != nil {
				return Table{}, err
			}
			set.ObjectParts = append(set.ObjectParts, c)
			parts = append(parts, stmt("part", map[string]string{"column": t.ref(c)}))
		}
		object = strings.Join(parts, " || '.' || ")
	}
	account, byAccount := "NULL::text", "false"
	if s.AccountColumn != "" {
		if set.AccountColumn, err = t.column(ctx, db, s.AccountColumn); err != nil {
			return Table{}, err
		}
		account, byAccount = t.ref(set.AccountColumn), "true"
	}
	config, err := json.Marshal(set)
	if err != nil {
		return Table{}, err
	}
	seconds := int64(s.MaxStaleness.Round(time.Second) / time.Second)
	if seconds < 1 {
		seconds = 1
	}
	table := map[string]string{"table": t.sql}
	steps := []string{
		stmt("lock_timeout", nil),
		stmt("functions", map[string]string{"schema": quoted}),
		stmt("drop_policy", table),
		stmt("policy", map[string]string{
			"schema": quoted, "table": t.sql, "object": object, "account": account, "by_account": byAccount,
			"type": objectType, "privilege": privilege, "max_age": strconv.FormatInt(seconds, 10),
			"set_limit": strconv.Itoa(s.SetLimit), "config": literal(commentPrefix + string(config)),
		}),
	}
	if s.ForceOwner {
		steps = append(steps, stmt("force", map[string]string{"table": t.sql, "force": "FORCE"}))
	}
	if err := inTx(ctx, db, steps); err != nil {
		return Table{}, fmt.Errorf("guard %s: %w", t.sql, err)
	}
	return status(ctx, db, schema, t)
}

// Disable removes grantmirror's policy from the table. Row-level security is
// turned off with it when no other policy is left on the table; otherwise it
// stays on for those policies, and the returned Table lists them.
func Disable(ctx context.Context, db DB, schema, table string) (Table, error) {
	if schema == "" {
		schema = query.DefaultSchema
	}
	t, err := resolveTable(ctx, db, table)
	if err != nil {
		return Table{}, err
	}
	before, err := status(ctx, db, schema, t)
	if err != nil {
		return Table{}, err
	}
	if !before.Guarded {
		return before, fmt.Errorf("%w: %s", ErrNotGuarded, t.sql)
	}
	tx, err := db.Begin(ctx)
	if err != nil {
		return Table{}, err
	}
	defer tx.Rollback(ctx)
	for _, q := range []string{stmt("lock_timeout", nil), stmt("drop_policy", map[string]string{"table": t.sql})} {
		if _, err := tx.Exec(ctx, q); err != nil {
			return Table{}, fmt.Errorf("unguard %s: %w", t.sql, err)
		}
	}
	var others []string
	if err := tx.QueryRow(ctx, stmt("other_policies", nil), t.oid).Scan(&others); err != nil {
		return Table{}, fmt.Errorf("unguard %s: %w", t.sql, err)
	}
	if len(others) == 0 {
		if _, err := tx.Exec(ctx, stmt("disable_table", map[string]string{"table": t.sql})); err != nil {
			return Table{}, fmt.Errorf("unguard %s: %w", t.sql, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return Table{}, fmt.Errorf("unguard %s: %w", t.sql, err)
	}
	return status(ctx, db, schema, t)
}

// Status reports the tables guarded with the mirror in schema, or, when table is
// set, that one table whether guarded or not.
func Status(ctx context.Context, db DB, schema, table string) ([]Table, error) {
	if schema == "" {
		schema = query.DefaultSchema
	}
	if table != "" {
		t, err := resolveTable(ctx, db, table)
		if err != nil {
			return nil, err
		}
		one, err := status(ctx, db, schema, t)
		if err != nil {
			return nil, err
		}
		return []Table{one}, nil
	}
	all, err := scanStatus(ctx, db, nil)
	if err != nil {
		return nil, err
	}
	var out []Table
	for _, t := range all {
		// A policy without readable settings is listed: better shown than hidden.
		if t.Settings == nil || t.Settings.Schema == schema {
			out = append(out, t)
		}
	}
	return out, nil
}

// status reports one resolved table.
func status(ctx context.Context, db DB, schema string, t resolved) (Table, error) {
	got, err := scanStatus(ctx, db, &t.oid)
	if err != nil {
		return Table{}, err
	}
	if len(got) == 1 {
		return got[0], nil
	}
	// Not guarded: read its flags and other policies afresh, as they may have
	// changed since t was resolved.
	fresh, err := resolveTable(ctx, db, t.sql)
	if err != nil {
		return Table{}, err
	}
	out := Table{Name: fresh.sql, Owner: fresh.owner, Enabled: fresh.enabled, Forced: fresh.forced, OtherPolicies: []string{}}
	if err := db.QueryRow(ctx, stmt("other_policies", nil), t.oid).Scan(&out.OtherPolicies); err != nil {
		return Table{}, err
	}
	return out, nil
}

func scanStatus(ctx context.Context, db DB, oid *uint32) ([]Table, error) {
	rows, err := db.Query(ctx, stmt("status", nil), oid)
	if err != nil {
		return nil, fmt.Errorf("read policies: %w", err)
	}
	var out []Table
	for rows.Next() {
		var t Table
		var id uint32
		var schema, name, comment string
		if err := rows.Scan(&id, &schema, &name, &t.Owner, &t.Enabled, &t.Forced, &comment, &t.OtherPolicies); err != nil {
			rows.Close()
			return nil, err
		}
		t.Name = pgx.Identifier{schema, name}.Sanitize()
		t.Guarded = true
		if js, ok := strings.CutPrefix(comment, commentPrefix); ok {
			var s Settings
			if json.Unmarshal([]byte(js), &s) == nil {
				t.Settings = &s
			}
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

func inTx(ctx context.Context, db DB, steps []string) error {
	tx, err := db.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	for _, q := range steps {
		if _, err := tx.Exec(ctx, q); err != nil {
			return err
		}
	}
	return tx.Commit(ctx)
}

// literal writes s as an SQL string literal (standard_conforming_strings, the
// default since Postgres 9.1: only quotes are doubled).
func literal(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
