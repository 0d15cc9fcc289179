package query

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/grantmirror/grantmirror/internal/ident"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// object is a Snowflake object of the generated world, with its raw name parts.
type object struct {
	objectType string
	parts      []string
}

func (o object) canonical() string { return ident.Join(o.parts...) }

// world is a generated data table joined to a generated mirror, with the answer
// computed independently in Go.
type world struct {
	objects []object
	rows    []int // rows[i] is the object of data row id i+1
	grants  []grant
}

// rawParts are identifier parts chosen to exercise every branch of the quoting rule:
// bare, lower case, spaces, quotes, leading digit or dollar, non-ASCII, lookalikes.
var rawParts = []string{
	"SALES", "PUBLIC", "ORDERS", "lines", "My Table", `a"b`, `""`, "9LIVES", "$X", "X$1",
	"_UNDER", "ÜBER", "über", "A-B", "A.B", "a'b", "ORDERS ", " ORDERS", "Orders", "ORDERS\n",
	"CORE", "X_Y$Z", "😀",
}

// newWorld generates objects, data rows and grants for viewers. Some grants are near
// misses that must not admit a row: the wrong privilege, the wrong object type, the
// wrong account, or an object whose canonical name differs only in quoting.
func newWorld(seed uint64, viewers []string) world {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var w world
	seen := map[string]bool{}
	for len(w.objects) < 60 {
		o := object{objectType: []string{"TABLE", "VIEW"}[r.IntN(2)],
			parts: []string{rawParts[r.IntN(len(rawParts))], rawParts[r.IntN(len(rawParts))], rawParts[r.IntN(len(rawParts))]}}
		key := o.objectType + " " + o.canonical()
		if seen[key] {
			continue
		}
		seen[key] = true
		w.objects = append(w.objects, o)
	}
	for range 600 {
		w.rows = append(w.rows, r.IntN(len(w.objects)))
	}
	for _, v := range viewers {
		for _, o := range w.objects {
			switch r.IntN(8) {
			case 0, 1, 2:
				w.grants = append(w.grants, grant{"ACME", v, o.objectType, o.canonical(), "SELECT"})
			case 3:
				w.grants = append(w.grants, grant{"ACME", v, o.objectType, o.canonical(), "INSERT"})
			case 4:
				other := map[string]string{"TABLE": "VIEW", "VIEW": "TABLE"}[o.objectType]
				if !seen[other+" "+o.canonical()] {
					w.grants = append(w.grants, grant{"ACME", v, other, o.canonical(), "SELECT"})
				}
			case 5:
				w.grants = append(w.grants, grant{"OTHER", v, o.objectType, o.canonical(), "SELECT"})
			}
		}
	}
	return w
}

// load writes the world's data table and grants into the fixture.
func (w world) load(f *fixture) {
	f.exec(`CREATE TABLE data (id bigint PRIMARY KEY, object_type text NOT NULL, object_name text NOT NULL,
		db text NOT NULL, sch text NOT NULL, tbl text NOT NULL, payload text)`)
	rows := make([][]any, len(w.rows))
	for i, oi := range w.rows {
		o := w.objects[oi]
		rows[i] = []any{int64(i + 1), o.objectType, o.canonical(), o.parts[0], o.parts[1], o.parts[2], fmt.Sprintf("row %d", i+1)}
	}
	_, err := f.db.CopyFrom(f.ctx, pgx.Identifier{f.schema, "data"},
		[]string{"id", "object_type", "object_name", "db", "sch", "tbl", "payload"}, pgx.CopyFromRows(rows))
	require.NoError(f.t, err)
	f.grant(w.grants...)
}

// expected returns the ids a viewer may see of objects of one type, computed from the
// grants alone; account "" accepts any account.
func (w world) expected(viewer, objectType, account string) []int64 {
	ok := map[string]bool{}
	for _, g := range w.grants {
		if g.email == viewer && g.objectType == objectType && g.privilege == "SELECT" && (account == "" || g.account == account) {
			ok[g.objectName] = true
		}
	}
	ids := []int64{}
	for i, oi := range w.rows {
		o := w.objects[oi]
		if o.objectType == objectType && ok[o.canonical()] {
			ids = append(ids, int64(i+1))
		}
	}
	return ids
}

func TestGuardMatchesMirror(t *testing.T) {
	t.Parallel()
	f := setup(t)
	viewers := []string{"alice@example.com", "bob@example.com", "carol@example.com", "dan@sub.example.com", "erin@example.com"}
	w := newWorld(42, viewers)
	w.load(f)

	all := make([]int64, len(w.rows))
	for i := range all {
		all[i] = int64(i + 1)
	}
	tests := []struct {
		name    string
		account string
		guard   func(objectType string) Check
	}{
		{"canonical column", "", func(ot string) Check { return Guard(ot, "d.object_name", "select") }},
		{"name parts", "", func(ot string) Check { return GuardParts(ot, []string{"d.db", "d.sch", "d.tbl"}, "SELECT") }},
		{"unqualified column", "", func(ot string) Check { return Guard(ot, "object_name", "SELECT") }},
		{"account scope", "ACME", func(ot string) Check { return Guard(ot, "d.object_name", "SELECT") }},
		{"account scope, parts", "OTHER", func(ot string) Check { return GuardParts(ot, []string{"db", "sch", "tbl"}, "SELECT") }},
	}
	for _, tt := range tests {
		o := f.options()
		o.Account = tt.account
		o.EmailDomains = map[string]string{"corp.example": "example.com"}
		b := f.builder(o)
		informative := 0
		for _, v := range viewers {
			for _, ot := range []string{"TABLE", "VIEW"} {
				// Viewers present themselves in other spellings; the builder normalizes.
				presented := v
				if v == "bob@example.com" {
					presented = "  Bob@CORP.example "
				}
				got := f.ids(b.Select(context.Background(), presented,
					From("data d"), Columns("d.id"), Where("d.object_type = ?", ot),
					tt.guard(ot), OrderBy("d.id")))
				want := w.expected(v, ot, tt.account)
				if len(want) > 0 && len(want) < len(w.rows) {
					informative++
				}
				require.Equal(t, want, got, "%s: %s, %s", tt.name, v, ot)
				// Both directions, spelled out: nothing over-granted, nothing missing.
				for _, id := range got {
					require.Contains(t, want, id, "over-grant")
				}
				for _, id := range want {
					require.Contains(t, got, id, "under-grant")
				}
			}
		}
		// Most viewer and type pairs must see some rows but not all, or the test
		// would prove little.
		require.Greater(t, informative, len(viewers), "%s: the generated world is too sparse", tt.name)
	}
	// A viewer with no grant at all sees nothing, and an unguarded read sees all.
	b := f.builder(f.options())
	require.Empty(t, f.ids(b.Select(context.Background(), "nobody@example.com",
		From("data d"), Columns("d.id"), Guard("TABLE", "d.object_name", "SELECT"))))
	got := f.ids(b.Select(context.Background(), "nobody@example.com", From("data d"), Columns("d.id"), Unguarded(), OrderBy("d.id")))
	require.Equal(t, all, got)
}

func TestGuardCombinations(t *testing.T) {
	t.Parallel()
	f := setup(t)
	// The columns carry their own collations, which must not clash with the mirror's.
	f.exec(`CREATE TABLE wh (id int PRIMARY KEY, warehouse text COLLATE "POSIX", db varchar(20) COLLATE "C")`)
	f.exec(`INSERT INTO wh VALUES (1, 'W1', 'D1'), (2, 'W1', 'D2'), (3, 'W2', 'D1'), (4, 'W2', 'D2'), (5, NULL, 'D1')`)
	v := "alice@example.com"
	f.grant(
		grant{"ACME", v, "WAREHOUSE", "W1", "USAGE"},
		grant{"ACME", v, "DATABASE", "D1", "USAGE"},
		grant{"ACME", v, "WAREHOUSE", "W2", "MONITOR"},
		grant{"ACME", v, "TABLE", `SALES.CORE."lines"`, "SELECT"},
	)
	b := f.builder(f.options())
	ctx := context.Background()
	tests := []struct {
		name  string
		parts []Part
		want  []int64
	}{
		{"one guard", []Part{Guard("WAREHOUSE", "wh.warehouse", "USAGE")}, []int64{1, 2}},
		{"two guards AND", []Part{Guard("WAREHOUSE", "wh.warehouse", "USAGE"), GuardParts("DATABASE", []string{"wh.db"}, "USAGE")}, []int64{1}},
		{"AnyOf ORs", []Part{AnyOf(Guard("WAREHOUSE", "wh.warehouse", "USAGE"), GuardParts("DATABASE", []string{"wh.db"}, "USAGE"))}, []int64{1, 2, 3, 5}},
		{"AnyOf with a second privilege", []Part{AnyOf(Guard("WAREHOUSE", "wh.warehouse", "USAGE"), Guard("WAREHOUSE", "wh.warehouse", "MONITOR"))}, []int64{1, 2, 3, 4}},
		{"fixed object held", []Part{GuardObject("TABLE", `sales.core."lines"`, "SELECT")}, []int64{1, 2, 3, 4, 5}},
		{"fixed object not held", []Part{GuardObject("TABLE", `sales.core.lines`, "SELECT")}, []int64{}},
		{"fixed object AND column", []Part{GuardObject("TABLE", `SALES.CORE."lines"`, "SELECT"), Guard("WAREHOUSE", "wh.warehouse", "USAGE")}, []int64{1, 2}},
	}
	for _, tt := range tests {
		parts := append([]Part{From("wh"), Columns("wh.id"), OrderBy("wh.id")}, tt.parts...)
		require.Equal(t, tt.want, f.ids(b.Select(ctx, v, parts...)), tt.name)
	}
}

func TestBuildErrors(t *testing.T) {
	t.Parallel()
	b := MustNew(Options{ObjectTypes: []string{"future thing"}, Privileges: []string{"future privilege"}})
	ctx := context.Background()
	v := "alice@example.com"
	base := []Part{From("t"), Columns("t.id")}
	tests := []struct {
		name   string
		viewer string
		parts  []Part
		want   error
	}{
		{"unknown object type", v, []Part{Guard("TABLEZ", "t.n", "SELECT")}, ErrObjectType},
		{"unknown privilege", v, []Part{Guard("TABLE", "t.n", "SELEKT")}, ErrPrivilege},
		{"injection in type", v, []Part{Guard("TABLE' OR '1'='1", "t.n", "SELECT")}, ErrObjectType},
		{"injection in column", v, []Part{Guard("TABLE", "t.n OR true", "SELECT")}, ErrIdentifier},
		{"reserved alias", v, []Part{Guard("TABLE", "gm__a1.object_name", "SELECT")}, ErrIdentifier},
		{"no guard", v, nil, ErrNoGuard},
		{"empty AnyOf", v, []Part{AnyOf()}, ErrStatement},
		{"bad viewer", "12345", []Part{Guard("TABLE", "t.n", "SELECT")}, ErrViewer},
		{"empty viewer", "", []Part{Guard("TABLE", "t.n", "SELECT")}, ErrViewer},
		{"bad fixed object", v, []Part{GuardObject("TABLE", `a.."b`, "SELECT")}, ErrStatement},
		{"hash without key", v, []Part{Unguarded(), Mask("t.email", Hash)}, ErrNoHashKey},
		{"negative partial", v, []Part{Unguarded(), Mask("t.email", Partial(-1))}, ErrStatement},
		{"masked twice", v, []Part{Unguarded(), Mask("t.email", Null), Mask("email", Redact)}, ErrStatement},
		{"bad role", v, []Part{Unguarded(), Mask("t.email", Null, UnlessRole(`"open`))}, ErrStatement},
		{"too many placeholders", v, []Part{Unguarded(), Where("t.a = ? AND t.b = ?", 1)}, ErrPlaceholder},
		{"unused argument", v, []Part{Unguarded(), Where("t.a = 1", 1)}, ErrPlaceholder},
		{"dollar out of range", v, []Part{Unguarded(), Where("t.a = $2", 1)}, ErrPlaceholder},
		{"unterminated literal", v, []Part{Unguarded(), Where("t.a = 'x", 1)}, ErrPlaceholder},
		{"negative limit", v, []Part{Unguarded(), Limit(-1)}, ErrStatement},
		{"bad order", v, []Part{Unguarded(), OrderBy("t.id; DROP TABLE t")}, ErrIdentifier},
		{"nil part", v, []Part{nil}, ErrStatement},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, m := range []Mode{Enforce, Shadow, Off} {
				bm := *b
				bm.mode = m
				_, _, err := bm.Select(ctx, tt.viewer, append(slices.Clone(base), tt.parts...)...).ToSql()
				require.ErrorIs(t, err, tt.want, "mode %s", m)
				require.True(t, IsBuildError(err))
			}
		})
	}
	// Extensions are accepted, and the known list still holds.
	_, _, err := b.Select(ctx, v, append(base, Guard("future_thing", "t.n", "Future Privilege"))...).ToSql()
	require.NoError(t, err)
	structural := []struct {
		name  string
		parts []Part
	}{
		{"no from", []Part{Columns("t.id"), Unguarded()}},
		{"two froms", []Part{From("t"), From("u"), Columns("t.id"), Unguarded()}},
		{"no columns", []Part{From("t"), Unguarded()}},
		{"star", []Part{From("t"), Columns("t.*"), Unguarded()}},
	}
	for _, tt := range structural {
		_, _, err := b.Select(ctx, v, tt.parts...).ToSql()
		require.Error(t, err, tt.name)
		require.True(t, IsBuildError(err), tt.name)
	}
}

func TestQuestionFormat(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.exec(`CREATE TABLE wh (id int PRIMARY KEY, warehouse text, note jsonb)`)
	f.exec(`INSERT INTO wh VALUES (1, 'W1', '{"k": 1}'), (2, 'W2', '{"k": 1}'), (3, 'W1', '{}')`)
	f.grant(grant{"ACME", "alice@example.com", "WAREHOUSE", "W1", "USAGE"})
	b := f.builder(f.options())
	ctx := context.Background()
	// A $n fragment may use the jsonb ? operator; in Question format it is escaped ??.
	s := b.Select(ctx, "alice@example.com", From("wh"), Columns("wh.id"),
		Where("wh.note ? $1", "k"), Guard("WAREHOUSE", "wh.warehouse", "USAGE"))
	require.Equal(t, []int64{1}, f.ids(s))
	q, args, err := s.Format(Question).ToSql()
	require.NoError(t, err)
	require.Contains(t, q, "wh.note ?? ?")
	// Renumbering the way squirrel's Dollar format does gives a statement with the
	// same answer.
	renumbered, n := squirrelDollar(q)
	require.Len(t, args, n)
	rows, err := f.db.Query(ctx, renumbered, args...)
	require.NoError(t, err)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	require.NoError(t, err)
	require.Equal(t, []int32{1}, ids)

	// A Cond drops into a statement written by hand.
	cond := b.Visible(ctx, "ALICE@example.com", Guard("WAREHOUSE", "wh.warehouse", "USAGE"))
	csql, cargs, err := cond.ToSql()
	require.NoError(t, err)
	hand, _ := squirrelDollar("SELECT wh.id FROM wh WHERE " + csql + " ORDER BY wh.id")
	rows, err = f.db.Query(ctx, hand, cargs...)
	require.NoError(t, err)
	ids, err = pgx.CollectRows(rows, pgx.RowTo[int32])
	require.NoError(t, err)
	require.Equal(t, []int32{1, 3}, ids)

	_, _, err = b.Visible(ctx, "alice@example.com", Guard("WAREHOUSE", "warehouse", "USAGE")).ToSql()
	require.ErrorIs(t, err, ErrIdentifier, "a Cond cannot qualify columns itself")

	shadow := f.options()
	shadow.Mode = Shadow
	fsql, _, err := f.builder(shadow).Filter(ctx, "alice@example.com", Guard("WAREHOUSE", "wh.warehouse", "USAGE")).ToSql()
	require.NoError(t, err)
	require.Equal(t, "true", fsql)
}

// squirrelDollar renumbers ? placeholders as $1, $2 … and undoes ?? escapes, as
// squirrel's Dollar placeholder format does, and returns how many it numbered.
func squirrelDollar(q string) (string, int) {
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] != '?' {
			b.WriteByte(q[i])
			continue
		}
		if i+1 < len(q) && q[i+1] == '?' {
			b.WriteByte('?')
			i++
			continue
		}
		n++
		fmt.Fprintf(&b, "$%d", n)
	}
	return b.String(), n
}
