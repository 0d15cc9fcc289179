package charts

// These tests render the grantmirror chart with the real helm binary and check the objects a
// cluster would receive: the CronJob's schedule and policies, how Secrets reach the container,
// the security context, the config file, and that values.schema.json refuses bad values.

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

const (
	chartDir       = "grantmirror"
	fullValues     = "testdata/full-values.yaml"
	exampleConfig  = "../grantmirror.example.yaml"
	configMountDir = "/etc/grantmirror"
	keyMountRoot   = "/var/run/secrets/grantmirror/snowflake/"
)

// lookHelm finds helm once per test binary: on PATH, else where `go install` puts it.
var lookHelm = sync.OnceValue(func() string {
	if p, err := exec.LookPath("helm"); err == nil {
		return p
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err != nil {
		return ""
	}
	for _, dir := range filepath.SplitList(strings.TrimSpace(string(out))) {
		p := filepath.Join(dir, "bin", "helm")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
})

// helm runs the helm binary with its cache, config and data directories in a temporary
// directory, so tests neither read nor change the user's repositories or plugins.
type helm struct {
	bin  string
	home string
}

// setup returns a helm runner, failing under CI=true and skipping elsewhere when helm is
// missing.
func setup(t *testing.T) *helm {
	t.Helper()
	bin := lookHelm()
	if bin == "" {
		msg := "helm not found on PATH or in $(go env GOPATH)/bin; install it with: go install helm.sh/helm/v3/cmd/helm@v3.22.0"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	// t.TempDir registers its own cleanup, which removes what helm wrote there.
	return &helm{bin: bin, home: t.TempDir()}
}

// run executes helm and returns its standard output and standard error.
func (h *helm) run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command(h.bin, args...)
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(h.home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(h.home, "config"),
		"HELM_DATA_HOME="+filepath.Join(h.home, "data"),
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// render runs helm template with the given extra arguments and returns the rendered
// manifest text and its parsed objects.
func (h *helm) render(t *testing.T, chart string, args ...string) (string, []map[string]any) {
	t.Helper()
	base := []string{"template", "gm", chart, "--namespace", "data-platform"}
	out, stderr, err := h.run(t, append(base, args...)...)
	require.NoError(t, err, "helm template: %s", stderr)
	var docs []map[string]any
	dec := yaml.NewDecoder(strings.NewReader(out))
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err, "parse rendered manifest")
		if doc != nil {
			docs = append(docs, doc)
		}
	}
	require.NotEmpty(t, docs, "helm template rendered nothing")
	return out, docs
}

// The structs below hold the parts of the rendered objects that the tests assert on.

type meta struct {
	Name        string            `yaml:"name"`
	Namespace   string            `yaml:"namespace"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type cronJob struct {
	Metadata meta `yaml:"metadata"`
	Spec     struct {
		Schedule                   string `yaml:"schedule"`
		TimeZone                   string `yaml:"timeZone"`
		ConcurrencyPolicy          string `yaml:"concurrencyPolicy"`
		Suspend                    *bool  `yaml:"suspend"`
		StartingDeadlineSeconds    int    `yaml:"startingDeadlineSeconds"`
		SuccessfulJobsHistoryLimit int    `yaml:"successfulJobsHistoryLimit"`
		FailedJobsHistoryLimit     int    `yaml:"failedJobsHistoryLimit"`
		JobTemplate                struct {
			Spec struct {
				BackoffLimit          int              `yaml:"backoffLimit"`
				ActiveDeadlineSeconds int              `yaml:"activeDeadlineSeconds"`
				PodFailurePolicy      podFailurePolicy `yaml:"podFailurePolicy"`
				Template              struct {
					Metadata meta    `yaml:"metadata"`
					Spec     podSpec `yaml:"spec"`
				} `yaml:"template"`
			} `yaml:"spec"`
		} `yaml:"jobTemplate"`
	} `yaml:"spec"`
}

type podFailurePolicy struct {
	Rules []struct {
		Action      string `yaml:"action"`
		OnExitCodes *struct {
			ContainerName string `yaml:"containerName"`
			Operator      string `yaml:"operator"`
			Values        []int  `yaml:"values"`
		} `yaml:"onExitCodes"`
		OnPodConditions []struct {
			Type string `yaml:"type"`
		} `yaml:"onPodConditions"`
	} `yaml:"rules"`
}

type podSpec struct {
	RestartPolicy                string              `yaml:"restartPolicy"`
	ServiceAccountName           string              `yaml:"serviceAccountName"`
	AutomountServiceAccountToken *bool               `yaml:"automountServiceAccountToken"`
	PriorityClassName            string              `yaml:"priorityClassName"`
	ImagePullSecrets             []map[string]string `yaml:"imagePullSecrets"`
	SecurityContext              securityContext     `yaml:"securityContext"`
	Containers                   []container         `yaml:"containers"`
	Volumes                      []volume            `yaml:"volumes"`
	NodeSelector                 map[string]string   `yaml:"nodeSelector"`
	Tolerations                  []map[string]any    `yaml:"tolerations"`
	Affinity                     map[string]any      `yaml:"affinity"`
}

type securityContext struct {
	RunAsNonRoot             *bool `yaml:"runAsNonRoot"`
	RunAsUser                *int  `yaml:"runAsUser"`
	RunAsGroup               *int  `yaml:"runAsGroup"`
	FSGroup                  *int  `yaml:"fsGroup"`
	AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
	Privileged               *bool `yaml:"privileged"`
	ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
	Capabilities             struct {
		Drop []string `yaml:"drop"`
		Add  []string `yaml:"add"`
	} `yaml:"capabilities"`
	SeccompProfile struct {
		Type string `yaml:"type"`
	} `yaml:"seccompProfile"`
}

type container struct {
	Name            string           `yaml:"name"`
	Image           string           `yaml:"image"`
	ImagePullPolicy string           `yaml:"imagePullPolicy"`
	Args            []string         `yaml:"args"`
	Env             []envVar         `yaml:"env"`
	EnvFrom         []map[string]any `yaml:"envFrom"`
	SecurityContext securityContext  `yaml:"securityContext"`
	Resources       map[string]any   `yaml:"resources"`
	VolumeMounts    []volumeMount    `yaml:"volumeMounts"`
}

type envVar struct {
	Name      string `yaml:"name"`
	Value     string `yaml:"value"`
	ValueFrom *struct {
		SecretKeyRef *struct {
			Name string `yaml:"name"`
			Key  string `yaml:"key"`
		} `yaml:"secretKeyRef"`
	} `yaml:"valueFrom"`
}

type volumeMount struct {
	Name      string `yaml:"name"`
	MountPath string `yaml:"mountPath"`
	ReadOnly  bool   `yaml:"readOnly"`
}

type volume struct {
	Name      string `yaml:"name"`
	ConfigMap *struct {
		Name string `yaml:"name"`
	} `yaml:"configMap"`
	EmptyDir *struct {
		SizeLimit string `yaml:"sizeLimit"`
	} `yaml:"emptyDir"`
	Secret *struct {
		SecretName  string `yaml:"secretName"`
		DefaultMode int    `yaml:"defaultMode"`
		Items       []struct {
			Key  string `yaml:"key"`
			Path string `yaml:"path"`
		} `yaml:"items"`
	} `yaml:"secret"`
}

type configMap struct {
	Metadata meta              `yaml:"metadata"`
	Data     map[string]string `yaml:"data"`
}

// rendered is one chart rendering, split into the objects the tests look at.
type rendered struct {
	text      string
	kinds     map[string]int
	cronJob   cronJob
	configMap configMap
	config    map[string]any // config.yaml from the ConfigMap, parsed
	sa        *meta
}

// container returns the single grantmirror container.
func (r rendered) container(t *testing.T) container {
	t.Helper()
	cs := r.cronJob.Spec.JobTemplate.Spec.Template.Spec.Containers
	require.Len(t, cs, 1)
	return cs[0]
}

// renderChart renders the chart and decodes its objects.
func renderChart(t *testing.T, h *helm, args ...string) rendered {
	t.Helper()
	text, docs := h.render(t, chartDir, args...)
	r := rendered{text: text, kinds: map[string]int{}}
	for _, doc := range docs {
		kind, _ := doc["kind"].(string)
		r.kinds[kind]++
		switch kind {
		case "CronJob":
			convert(t, doc, &r.cronJob)
		case "ConfigMap":
			convert(t, doc, &r.configMap)
		case "ServiceAccount":
			var sa struct {
				Metadata meta `yaml:"metadata"`
			}
			convert(t, doc, &sa)
			r.sa = &sa.Metadata
		}
	}
	require.Equal(t, 1, r.kinds["CronJob"], "exactly one CronJob")
	require.Equal(t, 1, r.kinds["ConfigMap"], "exactly one ConfigMap")
	raw, ok := r.configMap.Data["config.yaml"]
	require.True(t, ok, "ConfigMap has config.yaml")
	require.NoError(t, yaml.Unmarshal([]byte(raw), &r.config), "config.yaml is YAML")
	return r
}

// convert re-encodes a generic YAML document into a typed struct.
func convert(t *testing.T, doc map[string]any, into any) {
	t.Helper()
	b, err := yaml.Marshal(doc)
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(b, into))
}

func ptr[T any](v T) *T { return &v }

func TestLint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
	}{
		{"defaults", nil},
		{"full values", []string{"-f", fullValues}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := setup(t)
			out, stderr, err := h.run(t, append([]string{"lint", "--strict", chartDir}, tc.args...)...)
			require.NoError(t, err, "helm lint: %s%s", out, stderr)
			require.Contains(t, out, "0 chart(s) failed")
		})
	}
}

func TestCronJob(t *testing.T) {
	t.Parallel()
	type want struct {
		name, schedule, timeZone, image, pullPolicy, serviceAccount   string
		startingDeadline, successful, failed, backoff, activeDeadline int
		args                                                          []string
		dsnSecret, dsnKey                                             string
		tmpSize                                                       string
		nodeSelector                                                  map[string]string
		tolerations, pullSecrets                                      int
		extraEnv                                                      []string
	}
	tests := []struct {
		name string
		args []string
		want want
	}{
		{
			name: "defaults",
			want: want{
				name: "gm-grantmirror", schedule: "17 * * * *",
				image: "ghcr.io/grantmirror/grantmirror:0.1.0", pullPolicy: "IfNotPresent",
				startingDeadline: 600, successful: 3, failed: 3, backoff: 1, activeDeadline: 3000,
				args:      []string{"sync", "--config", "/etc/grantmirror/config.yaml", "--log-level", "info", "--log-format", "json"},
				dsnSecret: "grantmirror-database", dsnKey: "dsn", tmpSize: "1Gi",
			},
		},
		{
			name: "full values",
			args: []string{"-f", fullValues},
			want: want{
				name: "grantmirror-prod", schedule: "*/30 * * * *", timeZone: "Europe/Berlin",
				image: "registry.example.com/platform/grantmirror:1.4.2", pullPolicy: "Always",
				serviceAccount:   "grantmirror-sync",
				startingDeadline: 300, successful: 5, failed: 7, backoff: 2, activeDeadline: 1500,
				args: []string{"sync", "--config", "/etc/grantmirror/config.yaml", "--log-level", "debug", "--log-format", "text",
					"--pushgateway", "http://pushgateway.monitoring.svc:9091", "--max-revoke-ratio=0.1"},
				dsnSecret: "grantmirror-prod-db", dsnKey: "url", tmpSize: "2Gi",
				nodeSelector: map[string]string{"kubernetes.io/os": "linux", "workload": "batch"},
				tolerations:  1, pullSecrets: 1,
				extraEnv: []string{"GOMEMLIMIT", "HTTPS_PROXY"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := renderChart(t, setup(t), tc.args...)
			cj, w := r.cronJob, tc.want
			job := cj.Spec.JobTemplate.Spec
			pod := job.Template.Spec
			c := r.container(t)

			require.Equal(t, w.name, cj.Metadata.Name)
			require.Equal(t, "data-platform", cj.Metadata.Namespace)
			require.Equal(t, w.schedule, cj.Spec.Schedule)
			require.Equal(t, w.timeZone, cj.Spec.TimeZone)
			require.Equal(t, "Forbid", cj.Spec.ConcurrencyPolicy)
			require.Equal(t, ptr(false), cj.Spec.Suspend)
			require.Equal(t, w.startingDeadline, cj.Spec.StartingDeadlineSeconds)
			require.Equal(t, w.successful, cj.Spec.SuccessfulJobsHistoryLimit)
			require.Equal(t, w.failed, cj.Spec.FailedJobsHistoryLimit)
			require.Equal(t, w.backoff, job.BackoffLimit)
			require.Equal(t, w.activeDeadline, job.ActiveDeadlineSeconds)
			require.Equal(t, "Never", pod.RestartPolicy)

			// A refused publish (exit code 1) fails the Job without retries; an eviction does
			// not count as a failure.
			rules := job.PodFailurePolicy.Rules
			require.Len(t, rules, 2)
			require.Equal(t, "FailJob", rules[0].Action)
			require.NotNil(t, rules[0].OnExitCodes)
			require.Equal(t, "grantmirror", rules[0].OnExitCodes.ContainerName)
			require.Equal(t, "In", rules[0].OnExitCodes.Operator)
			require.Equal(t, []int{1}, rules[0].OnExitCodes.Values)
			require.Equal(t, "Ignore", rules[1].Action)
			require.Len(t, rules[1].OnPodConditions, 1)
			require.Equal(t, "DisruptionTarget", rules[1].OnPodConditions[0].Type)
			require.Equal(t, "grantmirror", c.Name)

			for _, labels := range []map[string]string{cj.Metadata.Labels, job.Template.Metadata.Labels} {
				require.Equal(t, "grantmirror", labels["app.kubernetes.io/name"])
				require.Equal(t, "gm", labels["app.kubernetes.io/instance"])
				require.Equal(t, "Helm", labels["app.kubernetes.io/managed-by"])
				require.Equal(t, "grantmirror-0.1.0", labels["helm.sh/chart"])
			}

			require.Equal(t, w.image, c.Image)
			require.Equal(t, w.pullPolicy, c.ImagePullPolicy)
			require.Equal(t, w.args, c.Args)
			require.Equal(t, w.serviceAccount, pod.ServiceAccountName)
			require.Equal(t, ptr(false), pod.AutomountServiceAccountToken)
			require.Equal(t, w.nodeSelector, pod.NodeSelector)
			require.Len(t, pod.Tolerations, w.tolerations)
			require.Len(t, pod.ImagePullSecrets, w.pullSecrets)

			// The DSN comes only from the named Secret, as the first env var.
			require.NotEmpty(t, c.Env)
			dsn := c.Env[0]
			require.Equal(t, "GRANTMIRROR_TARGET", dsn.Name)
			require.Empty(t, dsn.Value)
			require.NotNil(t, dsn.ValueFrom)
			require.NotNil(t, dsn.ValueFrom.SecretKeyRef)
			require.Equal(t, w.dsnSecret, dsn.ValueFrom.SecretKeyRef.Name)
			require.Equal(t, w.dsnKey, dsn.ValueFrom.SecretKeyRef.Key)
			var extra []string
			for _, e := range c.Env[1:] {
				extra = append(extra, e.Name)
			}
			require.Equal(t, w.extraEnv, extra)

			// The config and a writable /tmp are mounted; the config read-only.
			mounts := map[string]volumeMount{}
			for _, m := range c.VolumeMounts {
				mounts[m.MountPath] = m
			}
			require.True(t, mounts[configMountDir].ReadOnly)
			require.Equal(t, "tmp", mounts["/tmp"].Name)
			require.False(t, mounts["/tmp"].ReadOnly)
			vols := map[string]volume{}
			for _, v := range pod.Volumes {
				vols[v.Name] = v
			}
			require.NotNil(t, vols["config"].ConfigMap)
			require.Equal(t, r.configMap.Metadata.Name, vols["config"].ConfigMap.Name)
			require.NotNil(t, vols["tmp"].EmptyDir)
			require.Equal(t, w.tmpSize, vols["tmp"].EmptyDir.SizeLimit)
			require.NotEmpty(t, c.Resources["limits"], "resources are set")
		})
	}
}

func TestSecurityContext(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
	}{
		{"defaults", nil},
		{"full values", []string{"-f", fullValues}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := renderChart(t, setup(t), tc.args...)
			pod := r.cronJob.Spec.JobTemplate.Spec.Template.Spec
			c := r.container(t)

			require.Equal(t, ptr(true), pod.SecurityContext.RunAsNonRoot)
			require.Equal(t, ptr(65532), pod.SecurityContext.RunAsUser)
			require.Equal(t, ptr(65532), pod.SecurityContext.FSGroup)
			require.Equal(t, "RuntimeDefault", pod.SecurityContext.SeccompProfile.Type)

			sc := c.SecurityContext
			require.Equal(t, ptr(true), sc.RunAsNonRoot)
			require.Equal(t, ptr(65532), sc.RunAsUser)
			require.Equal(t, ptr(65532), sc.RunAsGroup)
			require.Equal(t, ptr(true), sc.ReadOnlyRootFilesystem)
			require.Equal(t, ptr(false), sc.AllowPrivilegeEscalation)
			require.Equal(t, ptr(false), sc.Privileged)
			require.Equal(t, []string{"ALL"}, sc.Capabilities.Drop)
			require.Empty(t, sc.Capabilities.Add)
			require.Equal(t, "RuntimeDefault", sc.SeccompProfile.Type)
		})
	}
}

func TestConfigFile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{
			name: "defaults",
			want: `
source: snowflake
mode: effective
roles: all
max_revoke_ratio: 0.2
max_add_ratio: 0.5
keep: 3
email: {domain_aliases: {}, overrides: {}}
postgres: {schema: grantmirror}
snowflake:
  history_days: 90
  query_timeout: 15m
  allow_partial: []
  accounts: []
`,
		},
		{
			name: "full values",
			args: []string{"-f", fullValues},
			want: `
source: snowflake
mode: granted
roles: primary
max_revoke_ratio: 0.05
max_add_ratio: 0.25
keep: 7
pii_tags: [PII, GOVERNANCE.TAGS.SENSITIVITY]
email:
  domain_aliases: {corp-sub.example: example.com}
  overrides: {LOADER: data-platform@example.com}
postgres: {schema: access_mirror}
snowflake:
  history_days: 30
  query_timeout: 20m
  allow_partial: [Subsidiary]
  accounts:
    - name: ACME
      account: xy12345.eu-west-1
      user: GRANTMIRROR
      role: GRANTMIRROR_READER
      warehouse: GRANTMIRROR_WH
      authenticator: jwt
      private_key_file: /var/run/secrets/grantmirror/snowflake/acme/rsa_key.p8
      private_key_passphrase_file: /var/run/secrets/grantmirror/snowflake/acme/passphrase
    - name: Subsidiary
      account: myorg-subsidiary
      user: GRANTMIRROR_SVC
      authenticator: jwt
      private_key_file: /var/run/secrets/grantmirror/snowflake/subsidiary/rsa_key.p8
`,
		},
		{
			name: "snapshot directory source",
			args: []string{"--set", "config.source=dir:/snapshots", "--set-json", `config.email.domainAliases={"a.example":"b.example"}`},
			want: `
source: dir:/snapshots
mode: effective
roles: all
max_revoke_ratio: 0.2
max_add_ratio: 0.5
keep: 3
email: {domain_aliases: {a.example: b.example}, overrides: {}}
postgres: {schema: grantmirror}
snowflake:
  history_days: 90
  query_timeout: 15m
  allow_partial: []
  accounts: []
`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := renderChart(t, setup(t), tc.args...)
			var want map[string]any
			require.NoError(t, yaml.Unmarshal([]byte(tc.want), &want))
			require.Equal(t, want, r.config)

			// The rendered file keeps the documented key order, so people reading the
			// ConfigMap find keys where grantmirror.example.yaml has them.
			got := topKeys(t, []byte(r.configMap.Data["config.yaml"]))
			example, err := os.ReadFile(exampleConfig)
			require.NoError(t, err)
			var order []string
			for _, k := range topKeys(t, example) {
				if slices.Contains(got, k) {
					order = append(order, k)
				}
			}
			require.Equal(t, order, got)
		})
	}
}

// topKeys returns the top-level keys of a YAML mapping in file order.
func topKeys(t *testing.T, doc []byte) []string {
	t.Helper()
	var n yaml.Node
	require.NoError(t, yaml.Unmarshal(doc, &n))
	require.Len(t, n.Content, 1)
	var keys []string
	for i, k := range n.Content[0].Content {
		if i%2 == 0 {
			keys = append(keys, k.Value)
		}
	}
	return keys
}

// TestConfigKeysDocumented checks that every key the chart writes into the config file is a
// key of the annotated example config, so the chart cannot drift from the documented format.
func TestConfigKeysDocumented(t *testing.T) {
	t.Parallel()
	r := renderChart(t, setup(t), "-f", fullValues)
	raw, err := os.ReadFile(exampleConfig)
	require.NoError(t, err)
	var example map[string]any
	require.NoError(t, yaml.Unmarshal(raw, &example))

	documented := keyPaths("", example)
	rendered := keyPaths("", r.config)
	require.NotEmpty(t, rendered)
	for p := range rendered {
		require.Contains(t, documented, p, "config key %s is not in grantmirror.example.yaml", p)
	}
	// Maps whose keys are data, not config keys, are compared by their parent only.
	require.Contains(t, documented, "email.domain_aliases")
	require.Contains(t, documented, "snowflake.accounts[].private_key_passphrase_file")
}

// keyPaths lists the dotted key paths of a parsed YAML document; list items share the path
// "parent[]". The keys of email maps are user data, so the walk stops there.
func keyPaths(prefix string, v any) map[string]bool {
	paths := map[string]bool{}
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			paths[p] = true
			if p == "email.domain_aliases" || p == "email.overrides" {
				continue
			}
			for cp := range keyPaths(p, child) {
				paths[cp] = true
			}
		}
	case []any:
		for _, item := range v {
			for cp := range keyPaths(prefix+"[]", item) {
				paths[cp] = true
			}
		}
	}
	return paths
}

// TestSnowflakeKeys checks that each account's key Secret is mounted where the config file
// says its key is, and that only the named keys are projected.
func TestSnowflakeKeys(t *testing.T) {
	t.Parallel()
	r := renderChart(t, setup(t), "-f", fullValues)
	pod := r.cronJob.Spec.JobTemplate.Spec.Template.Spec
	c := r.container(t)

	mountsByName := map[string]volumeMount{}
	for _, m := range c.VolumeMounts {
		mountsByName[m.Name] = m
	}
	secretsByDir := map[string]volume{}
	for _, v := range pod.Volumes {
		if v.Secret == nil {
			continue
		}
		m, ok := mountsByName[v.Name]
		require.True(t, ok, "secret volume %s is mounted", v.Name)
		require.True(t, m.ReadOnly, "secret volume %s is read-only", v.Name)
		require.True(t, strings.HasPrefix(m.MountPath, keyMountRoot), m.MountPath)
		require.Equal(t, 0o440, v.Secret.DefaultMode, "key files readable by the fsGroup only")
		secretsByDir[m.MountPath] = v
	}
	require.Len(t, secretsByDir, 2)

	tests := []struct {
		account, secret string
		items           map[string]string // Secret key → file name
	}{
		{"ACME", "grantmirror-snowflake-acme", map[string]string{"rsa_key.p8": "rsa_key.p8", "passphrase": "passphrase"}},
		{"Subsidiary", "grantmirror-snowflake-sub", map[string]string{"key.p8": "rsa_key.p8"}},
	}
	accounts, ok := r.config["snowflake"].(map[string]any)["accounts"].([]any)
	require.True(t, ok)
	require.Len(t, accounts, len(tests))
	for i, tc := range tests {
		acc := accounts[i].(map[string]any)
		require.Equal(t, tc.account, acc["name"])
		keyFile, _ := acc["private_key_file"].(string)
		dir := filepath.Dir(keyFile)
		v, ok := secretsByDir[dir]
		require.True(t, ok, "no Secret mounted at %s for %s", dir, tc.account)
		require.Equal(t, tc.secret, v.Secret.SecretName)
		items := map[string]string{}
		files := map[string]bool{}
		for _, it := range v.Secret.Items {
			items[it.Key] = it.Path
			files[it.Path] = true
		}
		require.Equal(t, tc.items, items)
		require.True(t, files[filepath.Base(keyFile)], "private_key_file %s is projected", keyFile)
		if pass, ok := acc["private_key_passphrase_file"].(string); ok {
			require.Equal(t, dir, filepath.Dir(pass))
			require.True(t, files[filepath.Base(pass)], "private_key_passphrase_file %s is projected", pass)
		} else {
			require.False(t, files["passphrase"], "no passphrase file is projected that the config does not use")
		}
	}
}

// secretPatterns match secret material: a PEM block, a database DSN, and any URL with a
// password in it.
var secretPatterns = []*regexp.Regexp{
	regexp.MustCompile(`-----BEGIN [A-Z ]*-----`),
	regexp.MustCompile(`postgres(ql)?://`),
	regexp.MustCompile(`[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@`),
}

// TestSecretPatterns shows that the patterns TestNoSecretMaterial relies on catch secrets and
// pass the names and paths the chart does render.
func TestSecretPatterns(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text   string
		secret bool
	}{
		{"-----BEGIN ENCRYPTED PRIVATE KEY-----", true},
		{"target: postgres://grantmirror@db:5432/app", true},
		{"value: https://user:s3cret@proxy.example:3128", true},
		{"url: http://pushgateway.monitoring.svc:9091", false},
		{"private_key_file: /var/run/secrets/grantmirror/snowflake/acme/rsa_key.p8", false},
		{"secretName: grantmirror-database", false},
	}
	for _, tc := range tests {
		matched := false
		for _, re := range secretPatterns {
			matched = matched || re.MatchString(tc.text)
		}
		require.Equal(t, tc.secret, matched, tc.text)
	}
}

// TestNoSecretMaterial checks that the chart renders no Secret and no secret value: only
// Secret names and keys.
func TestNoSecretMaterial(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(fullValues)
	require.NoError(t, err)
	tests := []struct {
		name string
		args []string
	}{
		{"defaults", nil},
		{"full values", []string{"-f", fullValues}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := renderChart(t, setup(t), tc.args...)
			require.Zero(t, r.kinds["Secret"], "the chart never creates a Secret")
			for _, re := range secretPatterns {
				require.False(t, re.MatchString(r.text), "rendered manifest matches %s", re)
				require.False(t, re.MatchString(string(raw)), "%s matches %s: the test values hold no secret either", fullValues, re)
			}
			require.NotContains(t, r.config, "target", "the DSN is never in the config file")
			for _, e := range r.container(t).Env {
				if strings.HasPrefix(e.Name, "GRANTMIRROR_") && e.ValueFrom == nil {
					require.NotContains(t, e.Value, "://", "%s carries a URL in plain text", e.Name)
				}
			}
		})
	}
}

func TestServiceAccount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		created string // name of the created ServiceAccount, empty when none
		podSA   string
	}{
		{"none", nil, "", ""},
		{"existing", []string{"--set", "serviceAccount.name=shared-jobs"}, "", "shared-jobs"},
		{"created with generated name", []string{"--set", "serviceAccount.create=true"}, "gm-grantmirror", "gm-grantmirror"},
		{"created with name", []string{"-f", fullValues}, "grantmirror-sync", "grantmirror-sync"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := renderChart(t, setup(t), tc.args...)
			if tc.created == "" {
				require.Nil(t, r.sa)
			} else {
				require.NotNil(t, r.sa)
				require.Equal(t, tc.created, r.sa.Name)
			}
			require.Equal(t, tc.podSA, r.cronJob.Spec.JobTemplate.Spec.Template.Spec.ServiceAccountName)
		})
	}
}

// TestRejected checks that values.schema.json and the templates refuse bad values before
// anything reaches a cluster.
func TestRejected(t *testing.T) {
	t.Parallel()
	account := func(extra string) string {
		return `config.snowflake.accounts=[{"name":"ACME","account":"xy12345.eu-west-1","user":"GRANTMIRROR"` + extra + `}]`
	}
	tests := []struct {
		name string
		args []string
		want string // substring of helm's error output
	}{
		{"database secret name missing", []string{"--set", "database.secretName=null"}, "missing property 'secretName'"},
		{"database secret name empty", []string{"--set", "database.secretName="}, "/database/secretName"},
		{"database secret name invalid", []string{"--set", "database.secretName=Not_A_Name"}, "/database/secretName"},
		{"account without key secret", []string{"--set-json", account("")}, "missing property 'keySecret'"},
		{"key secret without name", []string{"--set-json", account(`,"keySecret":{"privateKey":"rsa_key.p8"}`)}, "missing property 'name'"},
		{"private key inline", []string{"--set-json", account(`,"keySecret":{"name":"k"},"private_key":"-----BEGIN PRIVATE KEY-----"`)}, "additional properties 'private_key'"},
		{"key file path set directly", []string{"--set-json", account(`,"keySecret":{"name":"k"},"private_key_file":"/x"`)}, "additional properties 'private_key_file'"},
		{"schedule not a string", []string{"--set", "schedule=5"}, "/schedule"},
		{"schedule too few fields", []string{"--set", "schedule=0 * *"}, "/schedule"},
		{"keep not a number", []string{"--set-string", "config.keep=three"}, "/config/keep"},
		{"keep zero", []string{"--set", "config.keep=0"}, "/config/keep"},
		{"revoke ratio above one", []string{"--set", "config.maxRevokeRatio=1.5"}, "/config/maxRevokeRatio"},
		{"unknown mode", []string{"--set", "config.mode=everything"}, "/config/mode"},
		{"unknown roles", []string{"--set", "config.roles=some"}, "/config/roles"},
		{"bad source", []string{"--set", "config.source=bigquery"}, "/config/source"},
		{"bad query timeout", []string{"--set", "config.snowflake.queryTimeout=ten minutes"}, "/config/snowflake/queryTimeout"},
		{"history beyond retention", []string{"--set", "config.snowflake.historyDays=400"}, "/config/snowflake/historyDays"},
		{"DSN in config", []string{"--set", "config.target=postgres://gm:hunter2@db/app"}, "additional properties 'target'"},
		{"unknown top-level key", []string{"--set", "concurrencyPolicy=Allow"}, "additional properties 'concurrencyPolicy'"},
		{"DSN in extra env", []string{"--set-json", `extraEnv=[{"name":"GRANTMIRROR_TARGET","value":"postgres://gm:hunter2@db/app"}]`}, "/extraEnv/0/name"},
		{"DSN in extra args", []string{"--set-json", `extraArgs=["--target=postgres://gm:hunter2@db/app"]`}, "/extraArgs/0"},
		{"runs as root", []string{"--set", "securityContext.runAsNonRoot=false"}, "/securityContext/runAsNonRoot"},
		{"pod runs as root", []string{"--set", "podSecurityContext.runAsNonRoot=false"}, "/podSecurityContext/runAsNonRoot"},
		{"writable root filesystem", []string{"--set", "securityContext.readOnlyRootFilesystem=false"}, "/securityContext/readOnlyRootFilesystem"},
		{"privilege escalation", []string{"--set", "securityContext.allowPrivilegeEscalation=true"}, "/securityContext/allowPrivilegeEscalation"},
		{"bad pull policy", []string{"--set", "image.pullPolicy=Sometimes"}, "/image/pullPolicy"},
		{"suspend not a bool", []string{"--set-string", "suspend=yes"}, "/suspend"},
		{"bad PII tag", []string{"--set-json", `config.piiTags=["PII; DROP"]`}, "/config/piiTags/0"},
		{"allow partial of unknown account", []string{"-f", fullValues, "--set-json", `config.snowflake.allowPartial=["Nope"]`},
			`allowPartial: "Nope" is not the name of an account`},
		{"duplicate account names", []string{"--set-json", `config.snowflake.accounts=[` +
			`{"name":"ACME","account":"a","user":"U","keySecret":{"name":"k1"}},` +
			`{"name":"acme","account":"b","user":"U","keySecret":{"name":"k2"}}]`}, `account name "acme" appears twice`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := setup(t)
			out, stderr, err := h.run(t, append([]string{"template", "gm", chartDir}, tc.args...)...)
			require.Error(t, err, "helm template accepted the values:\n%s", out)
			require.Contains(t, stderr, tc.want)
			// A refusal must not echo a secret into CI logs.
			require.NotContains(t, stderr, "hunter2")
		})
	}
}

// TestNotes renders NOTES.txt, which helm template skips, by wrapping it in a ConfigMap in
// a copy of the chart.
func TestNotes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		want    []string
		notWant []string
	}{
		{
			name: "no accounts",
			want: []string{
				"grantmirror-database (key dsn)",
				"kubectl -n data-platform create job --from=cronjob/gm-grantmirror",
				"WARNING: config.source is \"snowflake\" but config.snowflake.accounts is empty",
			},
			notWant: []string{"SUSPENDED"},
		},
		{
			name: "full values, suspended",
			args: []string{"-f", fullValues, "--set", "suspend=true"},
			want: []string{
				"grantmirror-prod-db (key url)",
				"grantmirror-snowflake-acme (key rsa_key.p8, passphrase): key pair for Snowflake account ACME",
				"grantmirror-snowflake-sub (key key.p8): key pair for Snowflake account Subsidiary",
				"(Europe/Berlin)",
				"SUSPENDED",
			},
			notWant: []string{"WARNING"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := setup(t)
			chart := notesChart(t)
			_, docs := h.render(t, chart, append([]string{"--show-only", "templates/zz-notes.yaml"}, tc.args...)...)
			require.Len(t, docs, 1)
			var cm configMap
			convert(t, docs[0], &cm)
			notes := cm.Data["notes"]
			for _, s := range tc.want {
				require.Contains(t, notes, s)
			}
			for _, s := range tc.notWant {
				require.NotContains(t, notes, s)
			}
		})
	}
}

// notesChart copies the chart into a temporary directory and adds a template that renders
// NOTES.txt into a ConfigMap.
func notesChart(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "grantmirror")
	require.NoError(t, os.CopyFS(dst, os.DirFS(chartDir)))
	notes, err := os.ReadFile(filepath.Join(dst, "templates", "NOTES.txt"))
	require.NoError(t, err)
	require.NoError(t, os.Remove(filepath.Join(dst, "templates", "NOTES.txt")))
	def := "{{- define \"zz.notes\" -}}\n" + string(notes) + "\n{{- end }}\n"
	require.NoError(t, os.WriteFile(filepath.Join(dst, "templates", "_zz-notes.tpl"), []byte(def), 0o644))
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: {{ include \"zz.notes\" . | quote }}\n"
	require.NoError(t, os.WriteFile(filepath.Join(dst, "templates", "zz-notes.yaml"), []byte(cm), 0o644))
	return dst
}
