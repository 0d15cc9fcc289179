package query

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

func TestShadowMode(t *testing.T) {
	t.Parallel()
	f := setup(t)
	viewers := []string{"alice@example.com", "bob@example.com"}
	w := newWorld(7, viewers)
	w.load(f)
	var logs bytes.Buffer
	o := f.options()
	o.Mode = Shadow
	o.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	b := f.builder(o)
	ctx := context.Background()
	for _, v := range viewers {
		want := map[int64]bool{}
		for _, id := range w.expected(v, "TABLE", "") {
			want[id] = true
		}
		parts := []Part{From("data d"), Columns("d.id"), Where("d.object_type = 'TABLE'"),
			Guard("TABLE", "d.object_name", "SELECT"), OrderBy("d.id")}
		rows := f.rawMaps(b.Select(ctx, v, parts...))
		tables := 0
		for _, r := range rows {
			require.Equal(t, want[r["id"].(int64)], r["visible"], "%s row %d", v, r["id"])
			tables++
		}
		require.Less(t, len(want), tables, "shadow mode must not filter")

		// Through Query the rows look as in Off mode: no visible column, so a struct
		// without that field scans (pgx.RowToStructByName is strict both ways), and the
		// builder counts and logs what Enforce would have hidden.
		logs.Reset()
		before := b.ShadowTotals()
		type row struct {
			ID int64 `db:"id"`
		}
		got, err := Collect(ctx, f.db, b.Select(ctx, v, parts...), pgx.RowToStructByName[row])
		require.NoError(t, err)
		require.Len(t, got, tables)
		for i, r := range got {
			require.Equal(t, rows[i]["id"], r.ID)
		}
		var served map[string]any
		require.NoError(t, json.Unmarshal(logs.Bytes(), &served))
		require.Equal(t, "grantmirror shadow mismatch", served["msg"])
		require.Equal(t, v, served["viewer"])
		require.EqualValues(t, tables, served["rows"])
		require.EqualValues(t, tables-len(want), served["hidden"])
		after := b.ShadowTotals()
		require.Equal(t, ShadowStats{Rows: int64(tables), Hidden: int64(tables - len(want))},
			ShadowStats{Rows: after.Rows - before.Rows, Hidden: after.Hidden - before.Hidden})
		maps := f.maps(b.Select(ctx, v, parts...))
		require.NotContains(t, maps[0], "visible")

		// Rows read before an early Close are what is counted.
		logs.Reset()
		qr, err := b.Select(ctx, v, parts...).Query(ctx, f.db)
		require.NoError(t, err)
		early := ShadowStats{}
		for i := 0; i < 5 && qr.Next(); i++ {
			var id int64
			require.NoError(t, qr.Scan(&id))
			early.Rows++
			if !want[id] {
				early.Hidden++
			}
		}
		qr.Close()
		if early.Hidden > 0 {
			require.NoError(t, json.Unmarshal(logs.Bytes(), &served))
			require.EqualValues(t, early.Rows, served["rows"])
			require.EqualValues(t, early.Hidden, served["hidden"])
		} else {
			require.Zero(t, logs.Len())
		}

		logs.Reset()
		st, err := b.Select(ctx, v, parts...).CountHidden(ctx, f.db)
		require.NoError(t, err)
		require.Equal(t, ShadowStats{Rows: int64(tables), Hidden: int64(tables - len(want))}, st)
		var entry map[string]any
		require.NoError(t, json.Unmarshal(logs.Bytes(), &entry))
		require.Equal(t, v, entry["viewer"])
		require.EqualValues(t, st.Hidden, entry["hidden"])

		// The count describes the page served: LIMIT and OFFSET apply.
		paged := append(parts, Limit(50), Offset(10))
		st, err = b.Select(ctx, v, paged...).CountHidden(ctx, f.db)
		require.NoError(t, err)
		pageHidden := 0
		for _, r := range rows[10:60] {
			if !r["visible"].(bool) {
				pageHidden++
			}
		}
		require.Equal(t, ShadowStats{Rows: 50, Hidden: int64(pageHidden)}, st)

		// An enforced statement can be measured the same way before it is served.
		enforced := f.options()
		enforced.Logger = o.Logger
		st2, err := f.builder(enforced).Select(ctx, v, parts...).CountHidden(ctx, f.db)
		require.NoError(t, err)
		require.Equal(t, int64(tables-len(want)), st2.Hidden)
	}
	// Nothing hidden, nothing logged.
	logs.Reset()
	st, err := b.Select(ctx, "alice@example.com", From("data d"), Columns("d.id"), Unguarded()).CountHidden(ctx, f.db)
	require.NoError(t, err)
	require.Equal(t, ShadowStats{Rows: int64(len(w.rows))}, st)
	require.Zero(t, logs.Len())
}

func TestOffMode(t *testing.T) {
	t.Parallel()
	f := setup(t)
	w := newWorld(9, []string{"alice@example.com"})
	w.load(f)
	o := f.options()
	o.Mode = Off
	s := f.builder(o).Select(context.Background(), "alice@example.com", From("data d"), Columns("d.id"),
		Guard("TABLE", "d.object_name", "SELECT"))
	sql, _, err := s.ToSql()
	require.NoError(t, err)
	require.NotContains(t, sql, "EXISTS")
	require.Len(t, f.ids(s), len(w.rows))
}

func TestRollout(t *testing.T) {
	t.Parallel()
	day := func(d int) time.Time { return time.Date(2025, 6, d, 0, 0, 0, 0, time.UTC) }
	r := Rollout{
		Before:    Shadow,
		EnforceOn: map[string]time.Time{"acme": day(10), "globex": day(20), "initech": day(1)},
		Pinned:    map[string]Mode{"initech": Off},
	}
	tests := []struct {
		tenant string
		now    time.Time
		want   Mode
	}{
		{"acme", day(9), Shadow},
		{"acme", day(10), Enforce},
		{"acme", day(11), Enforce},
		{"globex", day(11), Shadow},
		{"globex", day(21), Enforce},
		{"initech", day(21), Off},
		{"unknown", day(30), Shadow},
		{"", day(30), Shadow},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, r.ModeFor(tt.tenant, tt.now), "%s at %s", tt.tenant, tt.now)
	}

	// The builder resolves the mode per statement from the context's tenant.
	now := day(15)
	b := MustNew(Options{Modes: r, Now: func() time.Time { return now }})
	parts := []Part{From("t"), Columns("t.id"), Guard("TABLE", "t.name", "SELECT")}
	for _, tt := range []struct {
		tenant string
		want   Mode
	}{{"acme", Enforce}, {"globex", Shadow}, {"initech", Off}} {
		s := b.Select(WithTenant(context.Background(), tt.tenant), "alice@example.com", parts...)
		require.Equal(t, tt.want, s.Mode(), tt.tenant)
		sql, _, err := s.ToSql()
		require.NoError(t, err)
		require.Equal(t, tt.want == Shadow, bytes.Contains([]byte(sql), []byte("AS visible")), tt.tenant)
	}
	// A resolver answering nonsense is read as Enforce.
	bad := MustNew(Options{Modes: ModeFunc(func(string, time.Time) Mode { return Mode(42) })})
	require.Equal(t, Enforce, bad.Select(context.Background(), "a@example.com", parts...).Mode())

	for _, m := range []Mode{Enforce, Shadow, Off} {
		got, err := ParseMode(m.String())
		require.NoError(t, err)
		require.Equal(t, m, got)
	}
	_, err := ParseMode("audit")
	require.ErrorIs(t, err, ErrOptions)
}

func TestStaleness(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.exec(`CREATE TABLE wh (id int PRIMARY KEY, warehouse text, email text)`)
	f.exec(`INSERT INTO wh VALUES (1, 'W1', 'x@example.com'), (2, 'W2', 'y@example.com')`)
	f.grant(grant{"ACME", "alice@example.com", "WAREHOUSE", "W1", "USAGE"})
	f.member("ACME", "alice@example.com", "PII_READER")
	ctx := context.Background()
	var now time.Time
	build := func(mode Mode, maxAge time.Duration) *Builder {
		o := f.options()
		o.Mode = mode
		o.MaxStaleness = maxAge
		o.Now = func() time.Time { return now }
		return f.builder(o)
	}
	parts := []Part{From("wh"), Columns("wh.id"), Guard("WAREHOUSE", "wh.warehouse", "USAGE"),
		Mask("wh.email", Redact, UnlessRole("PII_READER")), OrderBy("wh.id")}

	// Ages are of the snapshot (when Snowflake was read) and of the publish, both
	// counted back from the builder's clock; the snapshot's is the one judged.
	hours := func(h float64) *time.Duration { d := time.Duration(h * float64(time.Hour)); return &d }
	tests := []struct {
		name      string
		snapshot  *time.Duration // nil: the snapshot recorded no extraction time
		published time.Duration
		maxAge    time.Duration
		fresh     bool
		wantIDs   []int64
		wantEmail any
	}{
		{"just read", hours(0), 0, 3 * time.Hour, true, []int64{1}, "x@example.com"},
		{"at the limit", hours(3), 0, 3 * time.Hour, true, []int64{1}, "x@example.com"},
		{"a second past", hours(3 + 1.0/3600), 0, 3 * time.Hour, false, []int64{}, nil},
		{"month-old snapshot published now", hours(31 * 24), 0, 3 * time.Hour, false, []int64{}, nil},
		{"recent snapshot, publish long ago", hours(1), 30 * time.Hour, 3 * time.Hour, true, []int64{1}, "x@example.com"},
		{"default limit", hours(5), 0, 0, true, []int64{1}, "x@example.com"},
		{"past default limit", hours(7), time.Hour, 0, false, []int64{}, nil},
		{"no limit", hours(1000), 0, NoStalenessLimit, true, []int64{1}, "x@example.com"},
		{"no snapshot time, published recently", nil, 2 * time.Hour, 3 * time.Hour, true, []int64{1}, "x@example.com"},
		{"no snapshot time, published long ago", nil, 4 * time.Hour, 3 * time.Hour, false, []int64{}, nil},
	}
	for _, tt := range tests {
		now = f.published.Add(24 * time.Hour)
		var snapshotAt *time.Time
		if tt.snapshot != nil {
			at := now.Add(-*tt.snapshot)
			snapshotAt = &at
		}
		f.exec(`UPDATE current SET published_at = $1, snapshot_at = $2`, now.Add(-tt.published), snapshotAt)
		b := build(Enforce, tt.maxAge)
		require.Equal(t, tt.wantIDs, f.ids(b.Select(ctx, "alice@example.com", parts...)), tt.name)
		err := b.CheckFresh(ctx, f.db)
		if tt.fresh {
			require.NoError(t, err, tt.name)
			rows := f.maps(b.Select(ctx, "alice@example.com", parts...))
			require.Equal(t, tt.wantEmail, rows[0]["email"], tt.name)
		} else {
			require.ErrorIs(t, err, ErrStale, tt.name)
			if tt.snapshot != nil {
				require.Contains(t, err.Error(), "snapshot taken", tt.name)
			}
			// Shadow mode reports every row as hidden while the mirror is stale.
			rows := f.rawMaps(build(Shadow, tt.maxAge).Select(ctx, "alice@example.com", parts...))
			require.Len(t, rows, 2)
			for _, r := range rows {
				require.Equal(t, false, r["visible"])
			}
			// An unguarded statement still masks: unmasking fails closed too.
			rows = f.maps(b.Select(ctx, "alice@example.com", From("wh"), Columns("wh.id"), Unguarded(),
				Mask("wh.email", Redact, UnlessRole("PII_READER")), OrderBy("wh.id")))
			require.Equal(t, RedactedText, rows[0]["email"])
		}
	}

	// With no publish at all, guards admit nothing and CheckFresh says so.
	f.exec(`DELETE FROM current`)
	now = f.published
	b := build(Enforce, NoStalenessLimit)
	require.Empty(t, f.ids(b.Select(ctx, "alice@example.com", parts...)))
	require.ErrorIs(t, b.CheckFresh(ctx, f.db), ErrStale)
}

func TestOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		o    Options
	}{
		{"bad schema", Options{Schema: "a; DROP"}},
		{"qualified schema", Options{Schema: "a.b"}},
		{"bad access table", Options{AccessTable: "x y"}},
		{"bad mode", Options{Mode: 7}},
		{"negative staleness", Options{MaxStaleness: -time.Hour}},
		{"bad extension type", Options{ObjectTypes: []string{"X'--"}}},
		{"bad extension privilege", Options{Privileges: []string{"P;"}}},
	}
	for _, tt := range tests {
		_, err := New(tt.o)
		require.ErrorIs(t, err, ErrOptions, tt.name)
	}
	require.Panics(t, func() { MustNew(Options{Schema: "a b"}) })
	b, err := New(Options{Schema: "Mirror"})
	require.NoError(t, err)
	require.Equal(t, "mirror.access", b.access.String(), "the access view defaults into the schema")
	b, err = New(Options{Schema: `"Mirror"`, AccessTable: `"Mirror".access_v2`})
	require.NoError(t, err)
	require.Equal(t, `"Mirror".access_v2`, b.access.String())
	require.Equal(t, `"Mirror".current`, b.current.String())
}
