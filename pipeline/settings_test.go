package pipeline

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/ident"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

func TestFlattenRecordsItsSettings(t *testing.T) {
	t.Parallel()
	opts := Options{
		Mode:    model.Granted,
		Aliases: ident.Aliases{Domains: map[string]string{"sub.example": "example.com"}, Users: map[string]string{"LOADER": "dp@example.com"}},
		PIITags: []string{"PII"},
		Now:     time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC),
	}
	m, err := Flatten(&model.Snapshot{}, opts)
	require.NoError(t, err)
	require.NotNil(t, m.Meta.Settings)
	require.Equal(t, opts.Aliases, m.Meta.Settings.Aliases())
	require.Equal(t, []string{"PII"}, m.Meta.Settings.PIITags)

	same := *m.Meta.Settings
	require.Empty(t, m.Meta.Differences(model.Granted, model.AllRoles, same, nil))
	// Spellings the normalizer treats alike are the same setting.
	folded := same
	folded.DomainAliases = map[string]string{" SUB.example": "Example.com"}
	folded.Overrides = map[string]string{"loader": "DP@example.com"}
	folded.PIITags = []string{"pii"}
	require.Empty(t, m.Meta.Differences(model.Granted, model.AllRoles, folded, nil))

	other := same
	other.DomainAliases = map[string]string{}
	require.Equal(t, []string{
		"mode (built with granted; yours effective)",
		"email.domain_aliases (built with {sub.example: example.com}; yours {})",
	}, m.Meta.Differences(model.Effective, model.AllRoles, other, nil))
	onlyEmail := func(key string) bool { return key == "email.domain_aliases" }
	require.Equal(t, []string{"email.domain_aliases (built with {sub.example: example.com}; yours {})"},
		m.Meta.Differences(model.Effective, model.AllRoles, other, onlyEmail), "keys the config does not set are not compared")

	legacy := model.Meta{Mode: model.Effective, Roles: model.AllRoles}
	require.Empty(t, legacy.Differences(model.Effective, model.AllRoles, other, nil), "a generation without settings is compared on mode and roles")
}
