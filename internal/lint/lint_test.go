package lint

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/ident"
	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

var update = flag.Bool("update", false, "rewrite golden files")

var aliases = map[string]ident.Aliases{
	"acme":  {Domains: map[string]string{"acme-emea.example": "acme.example"}, Users: map[string]string{"AIRFLOW": "data-platform@acme.example"}},
	"rules": {Domains: map[string]string{"corp-sub.example": "example.com"}, Users: map[string]string{"LOADER": "data-platform@example.com"}},
}

func lintSample(t *testing.T, dir string) []Finding {
	t.Helper()
	snap, err := pipeline.ReadSnapshot(dir)
	require.NoError(t, err)
	al := aliases[filepath.Base(dir)]
	m, err := pipeline.Flatten(snap, pipeline.Options{Aliases: al, Now: time.Unix(0, 0)})
	require.NoError(t, err)
	return Lint(m, ident.NewNormalizer(al))
}

func TestGolden(t *testing.T) {
	t.Parallel()
	for _, dir := range []string{"../../testdata/sample/acme", "../../testdata/sample/adversarial", "../../testdata/sample/tiny", "../../testdata/conformance/rules", "../../testdata/conformance/login", "../../testdata/conformance/role-kinds"} {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			fs := lintSample(t, dir)
			for ext, write := range map[string]func(*bytes.Buffer) error{
				"txt":  func(b *bytes.Buffer) error { return WriteText(b, fs) },
				"json": func(b *bytes.Buffer) error { return WriteJSON(b, fs) },
				"csv":  func(b *bytes.Buffer) error { return WriteCSV(b, fs) },
			} {
				var got bytes.Buffer
				require.NoError(t, write(&got))
				path := filepath.Join("testdata", filepath.Base(dir)+"."+ext)
				if *update {
					require.NoError(t, os.MkdirAll("testdata", 0o755))
					require.NoError(t, os.WriteFile(path, got.Bytes(), 0o644))
				}
				want, err := os.ReadFile(path)
				require.NoError(t, err)
				require.Equal(t, string(want), got.String())
			}
		})
	}
}

// find returns the findings with a code about a subject.
func find(fs []Finding, code, subject string) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Code == code && f.Subject == subject {
			out = append(out, f)
		}
	}
	return out
}

func TestFindings(t *testing.T) {
	t.Parallel()
	acme := lintSample(t, "../../testdata/sample/acme")
	require.True(t, HasErrors(acme))
	for _, tc := range []struct{ code, subject, severity string }{
		{InvalidEmail, "user LOADER_SVC", Error},  // a numeric-ish ID where the email should be
		{InvalidEmail, "user BI_TOOL_SVC", Error}, // empty email, holds BI_TOOL
		{SharedEmail, "alice.martin@acme.example", Info},
		{AliasedEmail, "domain acme-emea.example", Info},
		{RoleHeldByNobody, "role ORPHAN_ROLE", Warning},
		{GrantToDroppedRole, "role LEGACY_REPORTING", Warning},
	} {
		got := find(acme, tc.code, tc.subject)
		require.NotEmpty(t, got, "%s %s", tc.code, tc.subject)
		require.Equal(t, tc.severity, got[0].Severity)
	}
	// AIRFLOW is rescued by its override: no invalid-email finding.
	require.Empty(t, find(acme, InvalidEmail, "user AIRFLOW"))
	require.NotEmpty(t, find(acme, AliasedEmail, "user AIRFLOW"))

	adv := lintSample(t, "../../testdata/sample/adversarial")
	require.NotEmpty(t, find(adv, NoContainerUsage, "DATABASE OTHER_DB"), "T_ELSEWHERE sits in a database nobody can use")
	require.NotEmpty(t, find(adv, GrantToDroppedRole, "role GONE"))
	require.NotEmpty(t, find(adv, InvalidEmail, "user svc.numbers"))

	rules := lintSample(t, "../../testdata/conformance/rules")
	require.NotEmpty(t, find(rules, InvalidEmail, "user EVE"))
	require.Empty(t, find(rules, InvalidEmail, "user LOADER"))
	require.Empty(t, find(rules, InvalidEmail, "user BOB"), "disabled users are not linted")
}

// TestLoginStates: locked users keep their access and are listed; expired users
// are left out and listed; an undocumented DEFAULT_SECONDARY_ROLE is flagged.
func TestLoginStates(t *testing.T) {
	t.Parallel()
	fs := lintSample(t, "../../testdata/conformance/login")
	for _, tc := range []struct{ code, subject, severity string }{
		{UserLocked, "user DAN", Warning},
		{UserLocked, "user EDO", Warning},
		{UserExpired, "user ANN", Info},
		{UserExpired, "user CAT", Info},
		{UnknownSecondary, "user IDA", Warning},
	} {
		got := find(fs, tc.code, tc.subject)
		require.Len(t, got, 1, "%s %s", tc.code, tc.subject)
		require.Equal(t, tc.severity, got[0].Severity)
	}
	require.Contains(t, find(fs, UserExpired, "user ANN")[0].Hint, "ALTER USER ANN UNSET DAYS_TO_EXPIRY")
	for _, u := range []string{"user BEN", "user FAY", "user GUS"} {
		require.Empty(t, find(fs, UserLocked, u), u)
		require.Empty(t, find(fs, UserExpired, u), u)
		require.Empty(t, find(fs, UnknownSecondary, u), u)
	}
}

// TestRoleKinds: application roles are called application roles, not database
// roles.
func TestRoleKinds(t *testing.T) {
	t.Parallel()
	fs := lintSample(t, "../../testdata/conformance/role-kinds")
	got := find(fs, DatabaseRoleUnused, "role APPDB.APP_AUDITOR")
	require.Len(t, got, 1)
	require.Equal(t, "application role APPDB.APP_AUDITOR is never granted to a role", got[0].Detail)
	for _, f := range fs {
		require.NotContains(t, f.Detail, "database role APPDB.", f.Detail)
	}
}

func TestServiceUserSharingAPersonsEmail(t *testing.T) {
	t.Parallel()
	snap, err := pipeline.ReadSnapshot("../../testdata/sample/tiny")
	require.NoError(t, err)
	a := snap.Accounts[0]
	a.Users = append(a.Users, model.User{Name: "ETL", Email: "anna@tiny.example", Type: "SERVICE"})
	a.UserGrants = append(a.UserGrants, model.UserGrant{Role: "WRITER", Grantee: "ETL"})
	m, err := pipeline.Flatten(snap, pipeline.Options{})
	require.NoError(t, err)
	fs := Lint(m, ident.NewNormalizer(ident.Aliases{}))
	got := find(fs, ServiceAsPerson, "user ETL")
	require.Len(t, got, 1)
	require.Contains(t, got[0].Detail, "WRITER")
	require.False(t, HasErrors(fs))
}

// TestNotMirroredListed: every policy or grant shape the mirror did not translate
// is a finding, with its objects and fallback; translated ones are not.
func TestNotMirroredListed(t *testing.T) {
	t.Parallel()
	fs := lintSample(t, "../../testdata/conformance/policies")
	var got []string
	for _, f := range fs {
		if f.Code == NotMirrored {
			require.Equal(t, Warning, f.Severity)
			got = append(got, f.Subject)
		}
	}
	require.ElementsMatch(t, []string{"masking policy GOV.POL.MISSING", "masking policy GOV.POL.TAG_MASK (on tag GOV.TAGS.SENSITIVE)",
		"masking policy GOV.POL.TAG_MASK on tag GOV.TAGS.SENSITIVE set above the columns", "masking policy GOV.POL.WEIRD", "row access policy GOV.POL.REGION"}, got)
	region := find(fs, NotMirrored, "row access policy GOV.POL.REGION")
	require.Contains(t, region[0].Detail, "SALES.PUBLIC.ORDERS")
	require.Contains(t, region[0].Detail, "no viewer is admitted")
}
