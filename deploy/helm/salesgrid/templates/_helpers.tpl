{{/*
Small helpers. Most take a component context built by "salesgrid.ctx":
  dict "root" $ "name" <component> "c" <merged settings>
*/}}

{{/* Release-wide name prefix; short enough for "-<component>-db-rw" to fit 63 characters. */}}
{{- define "salesgrid.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Recursive merge: maps merge key by key, anything else (false, 0, lists) from "over" wins.
     sprig's merge/mergeOverwrite would drop an override of `false` or `0`. */}}
{{- define "salesgrid.deepMerge" -}}
{{- $out := deepCopy .base -}}
{{- range $k, $v := .over -}}
{{- if and (kindIs "map" $v) (kindIs "map" (get $out $k)) -}}
{{- $_ := set $out $k (include "salesgrid.deepMerge" (dict "base" (get $out $k) "over" $v) | fromYaml) -}}
{{- else -}}
{{- $_ := set $out $k $v -}}
{{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/* Settings of one component: `default:` overridden by `components.<name>`, validated. */}}
{{- define "salesgrid.ctx" -}}
{{- $c := include "salesgrid.deepMerge" (dict "base" .root.Values.default "over" (get .root.Values.components .name)) | fromYaml -}}
{{- if and (eq $c.database.mode "external") (not $c.database.external.existingSecret) -}}
{{- fail (printf "components.%s.database.external.existingSecret is required when components.%s.database.mode is external (a Secret holding the database URL)" .name .name) -}}
{{- end -}}
{{- if lt (int $c.replicas) 0 -}}
{{- fail (printf "components.%s.replicas must be >= 0, got %v" .name $c.replicas) -}}
{{- end -}}
{{- toYaml $c -}}
{{- end -}}

{{- define "salesgrid.name" -}}
{{- printf "%s-%s" (include "salesgrid.fullname" .root) .name -}}
{{- end -}}

{{- define "salesgrid.selectorLabels" -}}
app.kubernetes.io/name: salesgrid
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{- define "salesgrid.labels" -}}
{{ include "salesgrid.selectorLabels" . }}
app.kubernetes.io/part-of: salesgrid
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- with .root.Values.region }}
topology.salesgrid.io/region: {{ . }}
{{- end }}
{{- end -}}

{{/* Labels for release-wide objects (no component). */}}
{{- define "salesgrid.commonLabels" -}}
app.kubernetes.io/name: salesgrid
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: salesgrid
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "salesgrid.image" -}}
{{- $img := .c.image -}}
{{- $repo := $img.repository | default (printf "%s/salesgrid-%s" .root.Values.image.registry .name) -}}
{{- if $img.digest -}}
{{- printf "%s@%s" $repo $img.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo ($img.tag | default .root.Values.image.tag | default .root.Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{- define "salesgrid.natsUrl" -}}
{{- if .Values.nats.enabled -}}
{{- printf "nats://%s-nats:4222" .Release.Name -}}
{{- else -}}
{{- required "nats.external.url is required when nats.enabled is false" .Values.nats.external.url -}}
{{- end -}}
{{- end -}}

{{- define "salesgrid.dbCluster" -}}
{{- printf "%s-db" (include "salesgrid.name" .) -}}
{{- end -}}

{{/* gRPC components this one may call: identity always, the gateway every service,
     otherwise the components that list it in their `callers`. */}}
{{- define "salesgrid.peers" -}}
{{- $peers := list -}}
{{- range $peer, $p := .root.Values.components -}}
{{- if and (ne $peer $.name) (not $p.http) (or (eq $peer "identity") (eq $.name "gateway") (has $.name ($p.callers | default list))) -}}
{{- $peers = append $peers $peer -}}
{{- end -}}
{{- end -}}
{{- toJson $peers -}}
{{- end -}}

{{- define "salesgrid.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "salesgrid.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
{{- end -}}

{{/* Environment of a component's containers. Settings are plain values; secrets only by secretKeyRef. */}}
{{- define "salesgrid.env" -}}
{{- $root := .root -}}
{{- $c := .c -}}
- name: SALESGRID_ENVIRONMENT
  value: {{ $root.Values.environment | quote }}
- name: SALESGRID_SERVICE_NAME
  value: {{ .name | quote }}
- name: SALESGRID_LOG_LEVEL
  value: {{ $root.Values.logLevel | quote }}
- name: SALESGRID_NATS_URL
  value: {{ include "salesgrid.natsUrl" $root | quote }}
- name: SALESGRID_STREAM_REPLICAS
  value: {{ $root.Values.streams.replicas | quote }}
- name: SALESGRID_OTLP_ENDPOINT
  value: {{ $root.Values.otlp.endpoint | quote }}
- name: SALESGRID_TRACE_SAMPLE_RATIO
  value: {{ $root.Values.otlp.sampleRatio | quote }}
- name: SALESGRID_JWT_ISSUER
  value: {{ $root.Values.jwt.issuer | quote }}
- name: SALESGRID_JWT_AUDIENCE
  value: {{ $root.Values.jwt.audience | quote }}
{{- if $c.http }}
- name: SALESGRID_HTTP_PORT
  value: {{ $c.port | quote }}
- name: SALESGRID_TRUSTED_PROXY_HEADER
  value: {{ $c.trustedProxyHeader | quote }}
{{- else }}
- name: SALESGRID_GRPC_PORT
  value: {{ $c.port | quote }}
- name: SALESGRID_METRICS_PORT
  value: {{ $c.metricsPort | quote }}
{{- end }}
{{- with $root.Values.region }}
- name: SALESGRID_REGION
  value: {{ . | quote }}
{{- end }}
{{- if and (eq .name "analytics") $root.Values.region (eq $root.Values.region $root.Values.multiRegion.hqRegion) }}
- name: SALESGRID_SOURCE_REGIONS
  value: {{ join "," $root.Values.multiRegion.regions | quote }}
{{- end }}
{{- range $peer := include "salesgrid.peers" . | fromJsonArray }}
- name: SALESGRID_{{ upper $peer }}_ADDR
  value: {{ printf "%s:%v" (include "salesgrid.name" (dict "root" $root "name" $peer)) (get $root.Values.components $peer).port | quote }}
{{- end }}
{{- if eq $c.database.mode "external" }}
- name: SALESGRID_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ $c.database.external.existingSecret }}
      key: {{ $c.database.external.key }}
{{- else if eq $c.database.mode "cnpg" }}
{{- $cluster := include "salesgrid.dbCluster" . }}
- name: PGUSER
  valueFrom:
    secretKeyRef:
      name: {{ $cluster }}-app
      key: username
- name: PGPASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $cluster }}-app
      key: password
- name: SALESGRID_DATABASE_URL
  value: {{ printf "postgresql+asyncpg://$(PGUSER):$(PGPASSWORD)@%s-rw:5432/%s" $cluster .name | quote }}
{{- end }}
{{- if eq .name "identity" }}
- name: SALESGRID_SIGNING_KEY_ID
  value: {{ $root.Values.identity.signingKeyId | quote }}
- name: SALESGRID_SIGNING_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $root.Values.identity.signingKeySecret | default (printf "%s-signing-key" (include "salesgrid.name" .)) }}
      key: {{ $root.Values.identity.signingKeyKey }}
{{- end }}
{{- if eq .name "webhooks" }}
- name: SALESGRID_SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $root.Values.webhooks.secretKeySecret | default (printf "%s-secret-key" (include "salesgrid.name" .)) }}
      key: {{ $root.Values.webhooks.secretKeyKey }}
{{- end }}
{{- range $k, $v := $c.env }}
- name: {{ $k }}
  value: {{ $v | quote }}
{{- end }}
{{- end -}}

{{/* The writable /tmp every container gets (the root filesystem is read-only). */}}
{{- define "salesgrid.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- end -}}
