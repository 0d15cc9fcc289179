package pipeline_test

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/grantmirror/grantmirror/internal/ident"
	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

// caseConfig is the part of a conformance case's config.yaml that flatten reads.
type caseConfig struct {
	Email struct {
		DomainAliases map[string]string `yaml:"domain_aliases"`
		Overrides     map[string]string `yaml:"overrides"`
	} `yaml:"email"`
}

func loadCase(t *testing.T, dir string) (*model.Snapshot, pipeline.Options) {
	t.Helper()
	snap, err := pipeline.ReadSnapshot(dir)
	require.NoError(t, err)
	var cfg caseConfig
	if b, err := os.ReadFile(filepath.Join(dir, "config.yaml")); err == nil {
		require.NoError(t, yaml.Unmarshal(b, &cfg))
	}
	return snap, pipeline.Options{Aliases: ident.Aliases{Domains: cfg.Email.DomainAliases, Users: cfg.Email.Overrides}}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	cases, err := filepath.Glob("../testdata/conformance/*/expected-effective.csv")
	require.NoError(t, err)
	require.NotEmpty(t, cases)
	for _, c := range cases {
		dir := filepath.Dir(c)
		for _, mode := range []model.Mode{model.Effective, model.Granted} {
			t.Run(filepath.Base(dir)+"/"+string(mode), func(t *testing.T) {
				t.Parallel()
				snap, opts := loadCase(t, dir)
				opts.Mode = mode
				m, err := pipeline.Flatten(snap, opts)
				require.NoError(t, err)
				var got bytes.Buffer
				w := csv.NewWriter(&got)
				require.NoError(t, w.Write([]string{"account", "email", "object_type", "object_name", "privilege"}))
				for r := range m.Access.All() {
					require.NoError(t, w.Write([]string{r.Account, r.Email, r.ObjectType, r.ObjectName, r.Privilege}))
				}
				w.Flush()
				want, err := os.ReadFile(filepath.Join(dir, "expected-"+string(mode)+".csv"))
				require.NoError(t, err)
				require.Equal(t, string(want), got.String())

				// What the mirror does not reproduce, the same in both modes; a case
				// without the file has nothing of the kind.
				var gaps strings.Builder
				for _, g := range model.NotMirrored(m) {
					gaps.WriteString(g.Account + ": " + g.String() + "\n")
				}
				wantGaps, err := os.ReadFile(filepath.Join(dir, "expected-not-mirrored.txt"))
				if !errors.Is(err, fs.ErrNotExist) {
					require.NoError(t, err)
				}
				require.Equal(t, string(wantGaps), gaps.String())

				// Policies do not change rows; a case that has them pins what the
				// mirror publishes about them, the same in both modes.
				want, err = os.ReadFile(filepath.Join(dir, "expected-policies.csv"))
				if errors.Is(err, fs.ErrNotExist) {
					return
				}
				require.NoError(t, err)
				got.Reset()
				w = csv.NewWriter(&got)
				require.NoError(t, w.Write([]string{"object_name", "column_name", "reason", "translated", "roles", "primary", "emails", "fallback"}))
				for _, c := range m.Masked {
					rec := []string{c.ObjectName, c.Column, c.Reason, "", "", "", "", ""}
					if r := c.Rule; r != nil {
						rec[3], rec[4], rec[5], rec[6], rec[7] = strconv.FormatBool(r.Translated), strings.Join(r.Roles, " "), strings.Join(r.Primary, " "), strings.Join(r.Emails, " "), r.Fallback
					}
					require.NoError(t, w.Write(rec))
				}
				w.Flush()
				require.Equal(t, string(want), got.String())
			})
		}
	}
}
