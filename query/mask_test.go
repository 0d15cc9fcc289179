package query

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// people is the masked fixture table: every row is readable by the viewer (one
// warehouse), so only masking decides what each column shows.
func people(f *fixture) {
	f.exec(`CREATE TABLE people (id int PRIMARY KEY, wh text NOT NULL, email text, card text, age int, note text)`)
	f.exec(`INSERT INTO people VALUES
		(1, 'W', 'Ann.Lee@Example.com', '4242424242424242', 41, 'likes tea'),
		(2, 'W', 'no-at-sign', '12', 29, 'x@y'),
		(3, 'W', NULL, NULL, NULL, NULL),
		(4, 'W', 'a@b@c.example', '1234', 7, 'ü😀ñ')`)
}

func TestMaskStrategies(t *testing.T) {
	t.Parallel()
	f := setup(t)
	people(f)
	key := []byte("a key that is shared with nobody")
	f.grant(grant{"ACME", "alice@example.com", "WAREHOUSE", "W", "USAGE"},
		grant{"ACME", "bob@example.com", "WAREHOUSE", "W", "USAGE"},
		grant{"ACME", "bob@example.com", "TABLE", "HR.CORE.PEOPLE", "SELECT"})
	f.member("ACME", "bob@example.com", "PUBLIC", "PII_READER")
	f.member("ACME", "alice@example.com", "PUBLIC", "ANALYST")

	hmacHex := func(s string) string {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(s))
		return hex.EncodeToString(m.Sum(nil))
	}
	partial := func(s string, keep int) string {
		n := len([]rune(s))
		if n <= keep {
			return strings.Repeat("*", n)
		}
		return strings.Repeat("*", n-keep) + string([]rune(s)[n-keep:])
	}
	emailDomain := func(s string) string {
		at := strings.LastIndexByte(s, '@')
		if at < 0 {
			return RedactedText
		}
		return "***@" + s[at+1:]
	}
	raw := map[int32][]*string{} // id → email, card, note
	str := func(s string) *string { return &s }
	raw[1] = []*string{str("Ann.Lee@Example.com"), str("4242424242424242"), str("likes tea")}
	raw[2] = []*string{str("no-at-sign"), str("12"), str("x@y")}
	raw[3] = []*string{nil, nil, nil}
	raw[4] = []*string{str("a@b@c.example"), str("1234"), str("ü😀ñ")}

	tests := []struct {
		name     string
		strategy Strategy
		want     func(string) string // masked form of a non-NULL value
		nullIs   *string             // masked form of NULL
	}{
		{"redact", Redact, func(string) string { return RedactedText }, str(RedactedText)},
		{"null", Null, nil, nil},
		{"hash", Hash, hmacHex, nil},
		{"partial 4", Partial(4), func(s string) string { return partial(s, 4) }, nil},
		{"partial 0", Partial(0), func(s string) string { return partial(s, 0) }, nil},
		{"email domain", EmailDomain, emailDomain, nil},
	}
	o := f.options()
	o.HashKey = key
	b := f.builder(o)
	ctx := context.Background()
	for _, tt := range tests {
		for _, unless := range [][]Unmask{nil, {UnlessRole("pii_reader")}, {UnlessPrivilege("TABLE", "hr.core.people", "SELECT")}} {
			for _, viewer := range []string{"alice@example.com", "bob@example.com"} {
				rows := f.maps(b.Select(ctx, viewer, From("people p"), Columns("p.id", "p.email"),
					Guard("WAREHOUSE", "p.wh", "USAGE"),
					Mask("p.email", tt.strategy, unless...), Mask("card", tt.strategy, unless...),
					Mask("p.note", tt.strategy, unless...), OrderBy("p.id")))
				require.Len(t, rows, 4)
				clear := viewer == "bob@example.com" && unless != nil
				for _, r := range rows {
					id := r["id"].(int32)
					require.Equal(t, []string{"card", "email", "id", "note"}, slices.Sorted(maps.Keys(r)))
					for i, col := range []string{"email", "card", "note"} {
						v := raw[id][i]
						var want any
						switch {
						case clear && v != nil:
							want = *v
						case clear, tt.want == nil:
							want = nil
						case v == nil && tt.nullIs != nil:
							want = *tt.nullIs
						case v == nil:
							want = nil
						default:
							want = tt.want(*v)
						}
						require.Equal(t, want, r[col], "%s, %s, unless %d, row %d, %s", tt.name, viewer, len(unless), id, col)
					}
				}
			}
		}
	}
	// HashValue agrees with the SQL, so a caller can find a hashed value it knows.
	h, err := b.HashValue("Ann.Lee@Example.com")
	require.NoError(t, err)
	require.Equal(t, hmacHex("Ann.Lee@Example.com"), h)
	// A key longer than the HMAC block is hashed first, as RFC 2104 says.
	long := f.options()
	long.HashKey = []byte(strings.Repeat("k", 100))
	lb := f.builder(long)
	rows := f.maps(lb.Select(ctx, "alice@example.com", From("people p"), Columns("p.id"),
		Guard("WAREHOUSE", "p.wh", "USAGE"), Mask("p.email", Hash), Where("p.id = 1")))
	m := hmac.New(sha256.New, long.HashKey)
	m.Write([]byte("Ann.Lee@Example.com"))
	require.Equal(t, hex.EncodeToString(m.Sum(nil)), rows[0]["email"])
}

func TestMaskTypesAndModes(t *testing.T) {
	t.Parallel()
	f := setup(t)
	people(f)
	f.grant(grant{"ACME", "alice@example.com", "WAREHOUSE", "W", "USAGE"})
	ctx := context.Background()
	for _, mode := range []Mode{Enforce, Shadow, Off} {
		o := f.options()
		o.Mode = mode
		b := f.builder(o)
		rows := f.maps(b.Select(ctx, "alice@example.com", From("people p"), Columns("p.id", "p.age AS years"),
			Guard("WAREHOUSE", "p.wh", "USAGE"), Mask("p.age", Partial(1)), Mask("p.card", Null),
			Where("p.id = ?", 1)))
		require.Len(t, rows, 1)
		// Text strategies return text in every mode; Null keeps the type.
		require.IsType(t, "", rows[0]["years"], mode)
		if mode == Enforce {
			require.Equal(t, "*1", rows[0]["years"])
			require.Nil(t, rows[0]["card"])
		} else {
			require.Equal(t, "41", rows[0]["years"])
			require.Equal(t, "4242424242424242", rows[0]["card"])
		}
	}
}

func TestLoadMasks(t *testing.T) {
	t.Parallel()
	f := setup(t)
	people(f)
	f.exec(`ALTER TABLE people ADD COLUMN "Mixed Case" text`)
	f.exec(`UPDATE people SET "Mixed Case" = 'secret ' || id`)
	f.exec(`INSERT INTO masked_1 (account, object_name, column_name, reason) VALUES
		('ACME', 'HR.CORE.PEOPLE', 'EMAIL', 'masking policy HR.GOV.EMAIL_MASK'),
		('ACME', 'HR.CORE.PEOPLE', 'EMAIL', 'tag HR.GOV.PII=email'),
		('ACME', 'HR.CORE.PEOPLE', 'Mixed Case', 'tag HR.GOV.PII=name'),
		('ACME', 'HR.CORE.PEOPLE', 'CARD', 'masking policy HR.GOV.CARD_MASK'),
		('OTHER', 'HR.CORE.PEOPLE', 'NOTE', 'tag HR.GOV.PII=free text'),
		('ACME', 'HR.CORE.OTHER', 'AGE', 'tag HR.GOV.PII=age')`)
	f.grant(grant{"ACME", "alice@example.com", "WAREHOUSE", "W", "USAGE"},
		grant{"ACME", "bob@example.com", "WAREHOUSE", "W", "USAGE"})
	f.member("ACME", "bob@example.com", "PII_READER")
	o := f.options()
	o.Account = "ACME"
	b := f.builder(o)
	ctx := context.Background()
	masks, err := b.LoadMasks(ctx, f.db, MaskSet{Object: "hr.core.people", Alias: "p",
		ByColumn: map[string]Strategy{"email": EmailDomain}, Unless: []Unmask{UnlessRole("PII_READER")}})
	require.NoError(t, err)
	require.Len(t, masks, 3, "EMAIL once, CARD, Mixed Case; NOTE is another account's")

	// Loaded masks apply to the selected columns only and never add columns; an
	// explicit Mask of the same column wins.
	parts := append([]Part{From("people p"), Columns("p.id", "p.email", `p."Mixed Case"`, "p.note", "p.age"),
		Guard("WAREHOUSE", "p.wh", "USAGE"), Where("p.id = 1"), Mask("p.age", Redact)}, masks...)
	alice := f.maps(b.Select(ctx, "alice@example.com", parts...))
	require.Equal(t, map[string]any{"id": int32(1), "email": "***@Example.com", "Mixed Case": RedactedText,
		"note": "likes tea", "age": RedactedText}, alice[0])
	bob := f.maps(b.Select(ctx, "bob@example.com", parts...))
	require.Equal(t, map[string]any{"id": int32(1), "email": "Ann.Lee@Example.com", "Mixed Case": "secret 1",
		"note": "likes tea", "age": RedactedText}, bob[0])
}

// TestUnlessRoleQuotedNames: memberships store canonical role names, quoted where
// Snowflake needs quotes; UnlessRole resolves what it is given the same way, in
// both directions: the quoted spelling unmasks, the unquoted one (which Snowflake
// folds to upper case, another role) does not.
func TestUnlessRoleQuotedNames(t *testing.T) {
	t.Parallel()
	f := setup(t)
	people(f)
	f.grant(grant{"ACME", "stew@example.com", "WAREHOUSE", "W", "USAGE"},
		grant{"ACME", "dbr@example.com", "WAREHOUSE", "W", "USAGE"},
		grant{"ACME", "other@example.com", "WAREHOUSE", "W", "USAGE"})
	f.member("ACME", "stew@example.com", "PUBLIC", `"Data Stewards"`)
	f.member("ACME", "dbr@example.com", "PUBLIC", `HR."pii reader"`)
	f.member("ACME", "other@example.com", "PUBLIC", `"DATA STEWARDS"`)
	b := f.builder(f.options())
	ctx := context.Background()
	email := func(viewer string, unless ...Unmask) any {
		rows := f.maps(b.Select(ctx, viewer, From("people p"), Columns("p.id"), Guard("WAREHOUSE", "p.wh", "USAGE"),
			Mask("p.email", Redact, unless...), Where("p.id = 1")))
		require.Len(t, rows, 1)
		return rows[0]["email"]
	}
	require.Equal(t, "Ann.Lee@Example.com", email("stew@example.com", UnlessRole(`"Data Stewards"`)))
	require.Equal(t, RedactedText, email("stew@example.com", UnlessRole("Data Stewards")), "unquoted folds to DATA STEWARDS")
	require.Equal(t, "Ann.Lee@Example.com", email("other@example.com", UnlessRole("data stewards")))
	require.Equal(t, RedactedText, email("other@example.com", UnlessRole(`"Data Stewards"`)))
	require.Equal(t, "Ann.Lee@Example.com", email("dbr@example.com", UnlessRole(`hr."pii reader"`)))
	require.Equal(t, RedactedText, email("dbr@example.com", UnlessRole(`hr.pii_reader`)))
}

// TestLoadMasksPolicies: masks loaded from translated Snowflake policies show the
// value to exactly the viewers the policy admits, in both directions; untranslated
// policies mask for everyone; a policy on the column wins over one from a tag; a
// policy on every column needs the column list; projection policies return NULL.
func TestLoadMasksPolicies(t *testing.T) {
	t.Parallel()
	f := setup(t)
	people(f)
	f.exec(`INSERT INTO masked_1 (account, object_name, column_name, reason, rule) VALUES
		('ACME', 'HR.CORE.PEOPLE', 'EMAIL', 'masking policy GOV.P.EMAIL', '{"kind":"masking","policy":"GOV.P.EMAIL","translated":true,"roles":["\"Data Stewards\""]}'),
		('ACME', 'HR.CORE.PEOPLE', 'EMAIL', 'masking policy GOV.P.TAGGED on tag GOV.T.PII', '{"kind":"masking","policy":"GOV.P.TAGGED","tag":"GOV.T.PII","translated":false,"fallback":"mask"}'),
		('ACME', 'HR.CORE.PEOPLE', 'CARD', 'masking policy GOV.P.CARD', '{"kind":"masking","policy":"GOV.P.CARD","translated":true,"emails":["carl@example.com"]}'),
		('ACME', 'HR.CORE.PEOPLE', 'NOTE', 'masking policy GOV.P.ODD', '{"kind":"masking","policy":"GOV.P.ODD","translated":false,"fallback":"mask"}'),
		('ACME', 'HR.CORE.PEOPLE', 'AGE', 'projection policy GOV.P.AGE', '{"kind":"projection","policy":"GOV.P.AGE","translated":true,"roles":["HR"]}'),
		('ACME', 'HR.CORE.PEOPLE', 'WH', 'tag GOV.T.PII=site', '')`)
	for _, v := range []string{"stew@example.com", "carl@example.com", "hr@example.com", "nobody@example.com"} {
		f.grant(grant{"ACME", v, "WAREHOUSE", "W", "USAGE"})
	}
	f.member("ACME", "stew@example.com", "PUBLIC", `"Data Stewards"`, "PII_READER")
	f.member("ACME", "carl@example.com", "PUBLIC", "ANALYST")
	f.member("ACME", "hr@example.com", "PUBLIC", "HR", "PII_READER")
	o := f.options()
	o.Account = "ACME"
	b := f.builder(o)
	ctx := context.Background()
	masks, err := b.LoadMasks(ctx, f.db, MaskSet{Object: "HR.CORE.PEOPLE", Alias: "p", Unless: []Unmask{UnlessRole("PII_READER")}})
	require.NoError(t, err)
	require.Len(t, masks, 5)
	read := func(viewer string) map[string]any {
		parts := append([]Part{From("people p"), Columns("p.id", "p.email", "p.card", "p.note", "p.age", "p.wh"),
			Guard("WAREHOUSE", "p.wh", "USAGE"), Where("p.id = 1")}, masks...)
		rows := f.maps(b.Select(ctx, viewer, parts...))
		require.Len(t, rows, 1, viewer)
		return rows[0]
	}
	stew := read("stew@example.com")
	require.Equal(t, "Ann.Lee@Example.com", stew["email"], "the policy on the column admits Data Stewards; the tag's untranslated one does not count")
	require.Equal(t, RedactedText, stew["card"], "CURRENT_ROLE() rule: only carl")
	require.Equal(t, RedactedText, stew["note"], "untranslated: masked even for PII_READER")
	require.Nil(t, stew["age"], "projection: not HR")
	require.Equal(t, "W", stew["wh"], "a PII tag admits set.Unless")

	carl := read("carl@example.com")
	require.Equal(t, RedactedText, carl["email"])
	require.Equal(t, "4242424242424242", carl["card"])
	require.Equal(t, RedactedText, carl["wh"])

	hr := read("hr@example.com")
	require.Equal(t, RedactedText, hr["email"])
	require.Equal(t, RedactedText, hr["note"])
	require.Equal(t, int32(41), hr["age"], "projection admits HR, with the column's type")

	nobody := read("nobody@example.com")
	for _, c := range []string{"email", "card", "note", "wh"} {
		require.Equal(t, RedactedText, nobody[c], c)
	}
	require.Nil(t, nobody["age"])

	// A policy that reaches every column (a tag on the schema) needs the list.
	f.exec(`INSERT INTO masked_1 (account, object_name, column_name, reason, rule) VALUES
		('ACME', 'HR.CORE', '*', 'masking policy GOV.P.ALL on tag GOV.T.S', '{"kind":"masking","policy":"GOV.P.ALL","tag":"GOV.T.S","translated":true,"roles":["HR"]}')`)
	_, err = b.LoadMasks(ctx, f.db, MaskSet{Object: "HR.CORE.PEOPLE"})
	require.ErrorIs(t, err, ErrStatement)
	require.ErrorContains(t, err, "MaskSet.Columns")
	masks, err = b.LoadMasks(ctx, f.db, MaskSet{Object: "HR.CORE.PEOPLE", Alias: "p", Columns: []string{"id", "email", "note"}})
	require.NoError(t, err)
	parts := append([]Part{From("people p"), Columns("p.id", "p.email", "p.note"), Guard("WAREHOUSE", "p.wh", "USAGE"), Where("p.id = 1")}, masks...)
	hrRows := f.maps(b.Select(ctx, "hr@example.com", parts...))
	require.Equal(t, "1", hrRows[0]["id"], "id is masked by the schema's policy, which admits HR")
	require.Equal(t, RedactedText, hrRows[0]["email"], "EMAIL's own policy wins over the tag's, and does not admit HR")
	stewRows := f.maps(b.Select(ctx, "stew@example.com", parts...))
	require.Equal(t, RedactedText, stewRows[0]["id"])
	require.Equal(t, "Ann.Lee@Example.com", stewRows[0]["email"], "EMAIL's own policy wins over the tag's, and admits Data Stewards")
	require.Equal(t, RedactedText, stewRows[0]["note"], "NOTE's untranslated policy is direct: the tag's rule does not replace it")
}

// rowPolicyWorld is a table of two rows per object, objects named whole (obj) and
// in parts, every one readable with SELECT by every viewer, and row access
// policies on most of them: PEOPLE admits the role "Data Stewards" and carl;
// DENIED and ALLOWED were not translated and fall back to deny and allow; NORULE's
// row has no rule (published before rules existed); ELSEWHERE's policy belongs to
// another account; OTHER has none.
func rowPolicyWorld(f *fixture, viewers []string) {
	f.exec(`CREATE TABLE docs (id int PRIMARY KEY, obj text NOT NULL, db text, sch text, name text)`)
	// The index lets a paged read take the sparse shape, driven from the viewer's objects.
	f.exec(`CREATE INDEX docs_obj_id ON docs (obj, id)`)
	objects := []string{"PEOPLE", "DENIED", "ALLOWED", "NORULE", "ELSEWHERE", "OTHER"}
	for i, o := range objects {
		f.exec(`INSERT INTO docs VALUES ($1, 'HR.CORE.' || $3, 'HR', 'CORE', $3), ($2, 'HR.CORE.' || $3, 'HR', 'CORE', $3)`, 2*i+1, 2*i+2, o)
		for _, v := range viewers {
			f.grant(grant{"ACME", v, "TABLE", "HR.CORE." + o, "SELECT"})
		}
	}
	f.exec(`INSERT INTO masked_1 (account, object_name, column_name, reason, rule) VALUES
		('ACME', 'HR.CORE.PEOPLE', '', 'row access policy GOV.P.ROWS', '{"kind":"row_access","policy":"GOV.P.ROWS","translated":true,"roles":["\"Data Stewards\""],"emails":["carl@example.com"]}'),
		('ACME', 'HR.CORE.PEOPLE', 'EMAIL', 'tag HR.GOV.PII=email', ''),
		('ACME', 'HR.CORE.DENIED', '', 'row access policy GOV.P.ODD', '{"kind":"row_access","policy":"GOV.P.ODD","translated":false,"fallback":"deny"}'),
		('ACME', 'HR.CORE.ALLOWED', '', 'row access policy GOV.P.ODD', '{"kind":"row_access","policy":"GOV.P.ODD","translated":false,"fallback":"allow"}'),
		('ACME', 'HR.CORE.NORULE', '', 'row access policy GOV.P.OLD', ''),
		('OTHER', 'HR.CORE.ELSEWHERE', '', 'row access policy GOV.P.ROWS', '{"kind":"row_access","policy":"GOV.P.ROWS","translated":true,"roles":["ADMIN"]}')`)
	f.member("ACME", "stew@example.com", "PUBLIC", `"Data Stewards"`)
	f.member("OTHER", "nobody@example.com", `"Data Stewards"`) // another account's role counts for nothing
}

// TestRowAccessPolicies: every kind of guard shows the rows of an object whose row
// access policy admits the viewer and none of one whose policy does not — a
// translated policy by role (in its own account) or person, an untranslated one by
// its fallback — and leaves objects without a policy alone.
func TestRowAccessPolicies(t *testing.T) {
	t.Parallel()
	f := setup(t)
	viewers := []string{"stew@example.com", "carl@example.com", "nobody@example.com"}
	rowPolicyWorld(f, viewers)
	f.grant(grant{"ACME", "nobody@example.com", "WAREHOUSE", "W", "USAGE"})
	ctx := context.Background()
	objectsOf := func(rows []map[string]any) []string {
		seen := map[string]bool{}
		for _, r := range rows {
			seen[strings.TrimPrefix(r["obj"].(string), "HR.CORE.")] = true
		}
		return slices.Sorted(maps.Keys(seen))
	}
	for _, account := range []string{"ACME", ""} {
		o := f.options()
		o.Account = account
		b := f.builder(o)
		// Without an account, ELSEWHERE's policy in OTHER applies to the name too.
		want := map[string][]string{
			"stew@example.com":   {"ALLOWED", "ELSEWHERE", "OTHER", "PEOPLE"},
			"carl@example.com":   {"ALLOWED", "ELSEWHERE", "OTHER", "PEOPLE"},
			"nobody@example.com": {"ALLOWED", "ELSEWHERE", "OTHER"},
		}
		if account == "" {
			for v, w := range want {
				want[v] = slices.DeleteFunc(slices.Clone(w), func(s string) bool { return s == "ELSEWHERE" })
			}
		}
		for _, v := range viewers {
			guards := map[string]Part{
				"Guard":      Guard("TABLE", "d.obj", "SELECT"),
				"GuardParts": GuardParts("TABLE", []string{"d.db", "d.sch", "d.name"}, "SELECT"),
				"AnyOf":      AnyOf(Guard("TABLE", "d.obj", "INSERT"), Guard("TABLE", "d.obj", "SELECT")),
			}
			for kind, g := range guards {
				for _, paged := range []bool{false, true} {
					parts := []Part{From("docs d"), Columns("d.id", "d.obj"), g, OrderBy("d.id")}
					if paged {
						parts = append(parts, Limit(100))
					}
					s := b.Select(ctx, v, parts...)
					if paged {
						require.NoError(t, s.Learn(ctx, f.db))
						sql, _, err := s.ToSql()
						require.NoError(t, err)
						require.Equal(t, kind == "Guard", strings.Contains(sql, "gm__v"), "%s: only a Guard on a column drives the sparse shape", kind)
					}
					rows := f.maps(s)
					require.Equal(t, want[v], objectsOf(rows), "%s through %s, account %q, paged %v", v, kind, account, paged)
					require.Len(t, rows, 2*len(want[v]), "every row of an admitted object")
				}
			}
			for _, object := range []string{"PEOPLE", "DENIED", "ALLOWED", "NORULE", "ELSEWHERE", "OTHER"} {
				rows := f.maps(b.Select(ctx, v, From("docs d"), Columns("d.id", "d.obj"), Where("d.name = ?", object),
					GuardObject("TABLE", "hr.core."+object, "SELECT")))
				require.Equal(t, slices.Contains(want[v], object), len(rows) == 2, "%s through GuardObject on %s, account %q", v, object, account)
			}
			// Shadow measures the same: the rows Enforce hides are not visible.
			o := o
			o.Mode = Shadow
			hidden := 0
			for _, r := range f.rawMaps(f.builder(o).Select(ctx, v, From("docs d"), Columns("d.id", "d.obj"), Guard("TABLE", "d.obj", "SELECT"))) {
				if !r["visible"].(bool) {
					hidden++
				}
			}
			require.Equal(t, 12-2*len(want[v]), hidden, "%s in shadow mode", v)
		}
		// A denied object does not spoil another check of an AnyOf.
		rows := f.maps(b.Select(ctx, "nobody@example.com", From("docs d"), Columns("d.id", "d.obj"),
			AnyOf(Guard("TABLE", "d.obj", "SELECT"), GuardObject("WAREHOUSE", "w", "USAGE"))))
		require.Len(t, rows, 12)
	}
}
