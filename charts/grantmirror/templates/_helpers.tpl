{{/*
grantmirror.name is the chart name, or nameOverride, cut to 63 characters because some
Kubernetes name fields are limited to a DNS label.
*/}}
{{- define "grantmirror.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
grantmirror.fullname names every resource of the release. A CronJob name must leave room for the
11-character suffix its Jobs get, so it is cut to 52 characters.
*/}}
{{- define "grantmirror.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
grantmirror.chart is the chart label value: name and version.
*/}}
{{- define "grantmirror.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
grantmirror.selectorLabels identify the release's pods; they must never change between upgrades.
*/}}
{{- define "grantmirror.selectorLabels" -}}
app.kubernetes.io/name: {{ include "grantmirror.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
grantmirror.labels are the recommended Kubernetes labels put on every resource.
*/}}
{{- define "grantmirror.labels" -}}
helm.sh/chart: {{ include "grantmirror.chart" . }}
{{ include "grantmirror.selectorLabels" . }}
app.kubernetes.io/component: sync
app.kubernetes.io/version: {{ (default .Chart.AppVersion .Values.image.tag) | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
grantmirror.serviceAccountName is the ServiceAccount the job runs as; empty means the namespace's
default ServiceAccount.
*/}}
{{- define "grantmirror.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "grantmirror.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
grantmirror.image is the image reference; the tag defaults to the chart's appVersion.
*/}}
{{- define "grantmirror.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
grantmirror.keyDir is the directory where one Snowflake account's key Secret is mounted.
The config file points at files in it, so both are derived from this one definition.
*/}}
{{- define "grantmirror.keyDir" -}}
{{- printf "/var/run/secrets/grantmirror/snowflake/%s" (lower .name) }}
{{- end }}

{{/*
grantmirror.config renders the config file from .Values.config. It builds a dict and lets toYaml
quote it, so no value can break the YAML. The target DSN is deliberately absent: it reaches the
container only as GRANTMIRROR_TARGET from a Secret.
*/}}
{{- define "grantmirror.config" -}}
{{- $c := .Values.config }}
{{- $accounts := list }}
{{- $seen := dict }}
{{- range $a := $c.snowflake.accounts }}
{{- $key := lower $a.name }}
{{- if hasKey $seen $key }}
{{- fail (printf "config.snowflake.accounts: account name %q appears twice (names are compared case-insensitively)" $a.name) }}
{{- end }}
{{- $_ := set $seen $key true }}
{{- $dir := include "grantmirror.keyDir" $a }}
{{- $acc := dict "name" $a.name "account" $a.account "user" $a.user "authenticator" "jwt" "private_key_file" (printf "%s/rsa_key.p8" $dir) }}
{{- if $a.role }}{{ $_ := set $acc "role" $a.role }}{{ end }}
{{- if $a.warehouse }}{{ $_ := set $acc "warehouse" $a.warehouse }}{{ end }}
{{- if $a.keySecret.passphrase }}{{ $_ := set $acc "private_key_passphrase_file" (printf "%s/passphrase" $dir) }}{{ end }}
{{- $accounts = append $accounts $acc }}
{{- end }}
{{- range $n := $c.snowflake.allowPartial }}
{{- if not (hasKey $seen (lower $n)) }}
{{- fail (printf "config.snowflake.allowPartial: %q is not the name of an account in config.snowflake.accounts" $n) }}
{{- end }}
{{- end }}
{{- $snowflake := dict "history_days" $c.snowflake.historyDays "query_timeout" $c.snowflake.queryTimeout "allow_partial" $c.snowflake.allowPartial "accounts" $accounts }}
{{- $email := dict "domain_aliases" $c.email.domainAliases "overrides" $c.email.overrides }}
{{- $cfg := dict "source" $c.source "mode" $c.mode "roles" $c.roles "max_revoke_ratio" $c.maxRevokeRatio "max_add_ratio" $c.maxAddRatio "keep" $c.keep "email" $email "postgres" (dict "schema" $c.postgres.schema) "snowflake" $snowflake }}
{{- /* toYaml sorts keys; emitting one key at a time keeps the order of the documented config file. */}}
{{- $out := list }}
{{- range $k := list "source" "mode" "roles" "max_revoke_ratio" "max_add_ratio" "keep" }}
{{- $out = append $out (toYaml (dict $k (get $cfg $k))) }}
{{- end }}
{{- /* pii_tags is written only when set: leaving the key out is what keeps grantmirror's default tags. */}}
{{- with $c.piiTags }}
{{- $out = append $out (toYaml (dict "pii_tags" .)) }}
{{- end }}
{{- range $k := list "email" "postgres" }}
{{- $out = append $out (toYaml (dict $k (get $cfg $k))) }}
{{- end }}
{{- $out = append $out "snowflake:" }}
{{- range $k := list "history_days" "query_timeout" "allow_partial" "accounts" }}
{{- $out = append $out (toYaml (dict $k (get $snowflake $k)) | indent 2) }}
{{- end }}
{{- join "\n" $out }}
{{- end }}
