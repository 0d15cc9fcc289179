package cli

import (
	"fmt"
	"github.com/grantmirror/grantmirror/internal/ident"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"

	"github.com/grantmirror/grantmirror/pipeline/snowflake"
)

// A misspelled key must not be ignored: `email.domain_alias` would silently
// drop the aliases and split people off their users at the next sync. So every
// key of the config file and every GRANTMIRROR_* variable must name a setting.

// keyKind is what a config key holds, for checking the keys beneath it.
type keyKind int

const (
	leafKey   keyKind = iota // a value
	mapKey                   // a map whose keys are data (domains, user names)
	structKey                // a section whose keys are settings
	listKey                  // a list of sections
)

// keySpec describes one known key.
type keySpec struct {
	kind keyKind
	// env is the environment variable that sets it, when one does.
	env string
}

// configKeys lists every key of the config file, dotted, with list items as
// "parent[].key": the fields of Config and of the snowflake section, and the
// Snowflake secrets the environment may hold (read at snowflake.*).
func configKeys() map[string]keySpec {
	keys := map[string]keySpec{}
	addKeys(keys, "", reflect.TypeFor[Config]())
	keys["snowflake"] = keySpec{kind: structKey}
	addKeys(keys, "snowflake", reflect.TypeFor[snowflake.Config]())
	for _, k := range envKeys {
		dotted := strings.ReplaceAll(k, keyDelim, ".")
		spec := keys[dotted]
		spec.env = envName(k)
		keys[dotted] = spec
	}
	return keys
}

func addKeys(keys map[string]keySpec, prefix string, t reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
		if !f.IsExported() || name == "" || name == "-" {
			continue
		}
		if prefix != "" {
			name = prefix + "." + name
		}
		switch ft := f.Type; {
		case ft.Kind() == reflect.Struct && ft != durationType:
			keys[name] = keySpec{kind: structKey}
			addKeys(keys, name, ft)
		case ft.Kind() == reflect.Map:
			keys[name] = keySpec{kind: mapKey}
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			keys[name] = keySpec{kind: listKey}
			addKeys(keys, name+"[]", ft.Elem())
		default:
			keys[name] = keySpec{kind: leafKey}
		}
	}
}

// envName is the environment variable of a viper key.
func envName(key string) string {
	return EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, keyDelim, "_"))
}

// otherEnv are GRANTMIRROR_* variables that are not settings of the command:
// the config file's path, and what the tests and the example data API read.
var otherEnv = map[string]bool{
	EnvPrefix + "_CONFIG":            true,
	EnvPrefix + "_TEST_DATABASE_URL": true, // internal/pgtest
	EnvPrefix + "_HASH_KEY":          true, // examples/dataapi
	EnvPrefix + "_SCHEMA":            true, // examples/dataapi
}

// retiredKeys are keys grantmirror no longer reads, which loadConfig refuses
// with a message of their own.
var retiredKeys = map[string]bool{"local_grants": true}

// checkEnv refuses a GRANTMIRROR_* variable that sets no setting, naming the
// nearest one.
func checkEnv(environ []string, keys map[string]keySpec) error {
	var names []string
	settable := map[string]bool{}
	for _, spec := range keys {
		if spec.env != "" {
			names = append(names, spec.env)
			settable[spec.env] = true
		}
	}
	slices.Sort(names)
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, EnvPrefix+"_") || settable[name] || otherEnv[name] {
			continue
		}
		// A variable that spells a key the environment cannot set.
		for key, spec := range keys {
			if spec.env == "" && envName(strings.ReplaceAll(key, ".", keyDelim)) == name && !strings.Contains(key, "[]") {
				return usageErr("environment: %s: %s cannot be set from the environment; set it in the config file (--config)", name, key)
			}
		}
		msg := fmt.Sprintf("environment: %s names no setting", name)
		if near := nearest(name, names); near != "" {
			msg += fmt.Sprintf("; did you mean %s?", near)
		}
		return usageErr("%s (grantmirror.example.yaml lists every setting)", msg)
	}
	return nil
}

// checkFileKeys refuses a key of the config file at path that names no
// setting, with its line and the nearest known key, and returns the dotted
// keys the file sets (a map-valued key counts as one).
func checkFileKeys(path string, keys map[string]keySpec) (map[string]bool, error) {
	var doc yaml.Node
	ext := strings.ToLower(filepath.Ext(path))
	if ext == ".yaml" || ext == ".yml" || ext == ".json" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, usageErr("read config %s: %v", path, err)
		}
		if err := yaml.Unmarshal(b, &doc); err != nil {
			return nil, usageErr("read config %s: %v", path, err)
		}
	} else {
		// Other formats viper reads carry no line numbers: check their keys as
		// viper decodes them.
		file := viper.NewWithOptions(viper.KeyDelimiter(keyDelim))
		file.SetConfigFile(path)
		if err := file.ReadInConfig(); err != nil {
			return nil, usageErr("read config %s: %v", path, err)
		}
		if err := doc.Encode(file.AllSettings()); err != nil {
			return nil, usageErr("read config %s: %v", path, err)
		}
	}
	var known []string
	for k := range keys {
		known = append(known, k)
	}
	slices.Sort(known)
	set := map[string]bool{}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	if root.Kind == 0 {
		return set, nil // an empty file
	}
	return set, walkKeys(path, root, "", keys, known, set)
}

func walkKeys(path string, n *yaml.Node, prefix string, keys map[string]keySpec, known []string, set map[string]bool) error {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		// viper folds keys to lower case; so does this check.
		key := strings.ToLower(k.Value)
		if prefix != "" {
			key = prefix + "." + key
		}
		if retiredKeys[key] {
			continue // loadConfig refuses it, saying where the setting went
		}
		spec, ok := keys[key]
		if !ok {
			where := path
			if k.Line > 0 {
				where = fmt.Sprintf("%s:%d", path, k.Line)
			}
			if key == "local_grants" {
				return usageErr("config %s: local_grants: the access policy lives in the database now; remove local_grants and set it with grantmirror grant policy set (policy admins)", where)
			}
			msg := fmt.Sprintf("config %s: unknown key %s", where, strings.ReplaceAll(key, "[]", "[…]"))
			if near := nearest(key, known); near != "" {
				msg += fmt.Sprintf("; did you mean %s?", strings.ReplaceAll(near, "[]", "[…]"))
			}
			return usageErr("%s (grantmirror.example.yaml lists every setting)", msg)
		}
		set[strings.TrimSuffix(key, "[]")] = true
		switch spec.kind {
		case structKey:
			if err := walkKeys(path, v, key, keys, known, set); err != nil {
				return err
			}
		case listKey:
			if v.Kind == yaml.SequenceNode {
				for _, item := range v.Content {
					if err := walkKeys(path, item, key+"[]", keys, known, set); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// nearest is the candidate closest to s in edit distance, when it is close
// enough to be a typo of it: at most a third of s's length apart.
func nearest(s string, candidates []string) string {
	best, bestD := "", len(s)/3+1
	for _, c := range candidates {
		if d := ident.Distance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}
