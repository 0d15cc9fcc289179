package charts

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// schemaOnly are values the schema accepts that values.yaml leaves unset, and why.
var schemaOnly = map[string]string{
	"global": "set by a parent chart, never by this one",
}

// TestValuesMatchSchema walks values.yaml and values.schema.json together
// wherever the chart owns the shape (additionalProperties false): every value
// values.yaml documents is one the schema describes, and every value the
// schema describes is documented in values.yaml, with its default, or listed in
// schemaOnly. helm lint checks only the first half, and only for keys set.
func TestValuesMatchSchema(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join(chartDir, "values.yaml"))
	require.NoError(t, err)
	var values map[string]any
	require.NoError(t, yaml.Unmarshal(b, &values))
	b, err = os.ReadFile(filepath.Join(chartDir, "values.schema.json"))
	require.NoError(t, err)
	var schema map[string]any
	require.NoError(t, json.Unmarshal(b, &schema))
	defs, _ := schema["definitions"].(map[string]any)

	checked := 0
	var walk func(path string, v map[string]any, node map[string]any)
	walk = func(path string, v map[string]any, node map[string]any) {
		if ref, ok := node["$ref"].(string); ok {
			node = defs[strings.TrimPrefix(ref, "#/definitions/")].(map[string]any)
		}
		// Objects passed through to Kubernetes are left to the API server.
		if open, ok := node["additionalProperties"].(bool); !ok || open {
			return
		}
		props, _ := node["properties"].(map[string]any)
		for _, k := range slices.Sorted(maps.Keys(v)) {
			p, ok := props[k].(map[string]any)
			require.True(t, ok, "values.yaml has %s%s, which values.schema.json does not describe", path, k)
			checked++
			if sub, ok := v[k].(map[string]any); ok {
				walk(path+k+".", sub, p)
			}
		}
		for k := range props {
			if _, ok := v[k]; !ok {
				_, optional := schemaOnly[path+k]
				require.True(t, optional, "values.schema.json describes %s%s, which values.yaml does not document", path, k)
			}
		}
	}
	walk("", values, schema)
	require.Greater(t, checked, 40, "the walk reaches the nested values")
}
