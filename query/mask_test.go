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
	f.exec(`INSERT INTO masked_1 VALUES
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
