{{/* Names ------------------------------------------------------------------------------- */}}

{{- define "todo-app.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-scoped base name; components append -web, -worker, ... (kept under 63 chars). */}}
{{- define "todo-app.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "todo-app.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "todo-app.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "todo-app.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "todo-app.secretName" -}}
{{- default (include "todo-app.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{- define "todo-app.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag | toString) -}}
{{- end -}}

{{/* Labels ------------------------------------------------------------------------------
Call with (dict "ctx" $ "component" "web"). */}}

{{- define "todo-app.selectorLabels" -}}
app.kubernetes.io/name: {{ include "todo-app.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end -}}

{{- define "todo-app.labels" -}}
helm.sh/chart: {{ include "todo-app.chart" .ctx }}
{{ include "todo-app.selectorLabels" . }}
app.kubernetes.io/version: {{ default .ctx.Chart.AppVersion .ctx.Values.image.tag | toString | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: todo-app
{{- end -}}

{{/* Service addresses (in-cluster services or the values) ----------------------------- */}}

{{- define "todo-app.postgresqlHost" -}}
{{- printf "%s-postgresql" (include "todo-app.fullname" .) -}}
{{- end -}}

{{- define "todo-app.redisHost" -}}
{{- printf "%s-redis" (include "todo-app.fullname" .) -}}
{{- end -}}

{{- define "todo-app.redpandaHost" -}}
{{- printf "%s-redpanda" (include "todo-app.fullname" .) -}}
{{- end -}}

{{- define "todo-app.kafkaBootstrapServers" -}}
{{- if .Values.kafka.bootstrapServers -}}
{{- .Values.kafka.bootstrapServers -}}
{{- else if .Values.redpanda.enabled -}}
{{- printf "%s:9092" (include "todo-app.redpandaHost" .) -}}
{{- else -}}
{{- fail "todo-app: set kafka.bootstrapServers (host:port of your Kafka) or redpanda.enabled=true for an in-cluster broker" -}}
{{- end -}}
{{- end -}}

{{/* Secrets the chart renders ------------------------------------------------------------
Never generated: a random value would differ on every render (`helm template`, Argo CD, Flux
drift detection) and silently rotate the key or lock the app out of its database. A value given
wins; an empty one keeps what the cluster's Secret already holds (lookup, on upgrades); otherwise
rendering stops and says what to set. secrets.existingSecret avoids all of it (the GitOps path). */}}
{{- define "todo-app.keptSecret" -}}
{{- $data := (lookup "v1" "Secret" .ctx.Release.Namespace .secret).data | default dict -}}
{{- $value := .value | default (get $data .key | b64dec) -}}
{{- required (printf "todo-app: set %s (e.g. $(python3 -c 'import secrets; print(secrets.token_urlsafe(%d))')) or secrets.existingSecret with key %s: the chart never generates secrets, so that every render is the same (docs/deploy.md#secrets)" .name .length .key) $value -}}
{{- end -}}

{{- define "todo-app.djangoSecretKey" -}}
{{- include "todo-app.keptSecret" (dict "ctx" . "secret" (include "todo-app.fullname" .) "key" "DJANGO_SECRET_KEY" "value" .Values.secrets.djangoSecretKey "name" "secrets.djangoSecretKey" "length" 50) -}}
{{- end -}}

{{- define "todo-app.postgresqlPassword" -}}
{{- include "todo-app.keptSecret" (dict "ctx" . "secret" (include "todo-app.postgresqlHost" .) "key" "POSTGRES_PASSWORD" "value" .Values.postgresql.password "name" "postgresql.password" "length" 24) -}}
{{- end -}}

{{- define "todo-app.redisPassword" -}}
{{- include "todo-app.keptSecret" (dict "ctx" . "secret" (include "todo-app.redisHost" .) "key" "REDIS_PASSWORD" "value" .Values.redis.password "name" "redis.password" "length" 24) -}}
{{- end -}}

{{/* The Secret the in-cluster PostgreSQL/Redis read their password from (key POSTGRES_PASSWORD / REDIS_PASSWORD). */}}
{{- define "todo-app.depSecretName" -}}
{{- .ctx.Values.secrets.existingSecret | default .own -}}
{{- end -}}

{{- define "todo-app.databaseUrl" -}}
{{- if .Values.secrets.databaseUrl -}}
{{- .Values.secrets.databaseUrl -}}
{{- else if .Values.postgresql.enabled -}}
{{- printf "postgresql://%s:%s@%s:5432/%s" .Values.postgresql.username (include "todo-app.postgresqlPassword" . | urlquery) (include "todo-app.postgresqlHost" .) .Values.postgresql.database -}}
{{- else -}}
{{- fail "todo-app: set secrets.databaseUrl (postgresql://user:password@host:5432/db), or secrets.existingSecret, or postgresql.enabled=true — see docs/deploy.md#secrets" -}}
{{- end -}}
{{- end -}}

{{- define "todo-app.redisUrl" -}}
{{- if .Values.secrets.redisUrl -}}
{{- .Values.secrets.redisUrl -}}
{{- else if .Values.redis.enabled -}}
{{- printf "redis://:%s@%s:6379/0" (include "todo-app.redisPassword" . | urlquery) (include "todo-app.redisHost" .) -}}
{{- else -}}
{{- fail "todo-app: set secrets.redisUrl (redis://... or rediss://...), or secrets.existingSecret, or redis.enabled=true — see docs/deploy.md#secrets" -}}
{{- end -}}
{{- end -}}

{{/* Data of the app Secret (keys are the env var names the settings read). */}}
{{- define "todo-app.secretData" -}}
DJANGO_SECRET_KEY: {{ include "todo-app.djangoSecretKey" . | b64enc | quote }}
DATABASE_URL: {{ include "todo-app.databaseUrl" . | b64enc | quote }}
REDIS_URL: {{ include "todo-app.redisUrl" . | b64enc | quote }}
{{- with .Values.secrets.kafkaSaslUsername }}
KAFKA_SASL_USERNAME: {{ . | b64enc | quote }}
{{- end }}
{{- with .Values.secrets.kafkaSaslPassword }}
KAFKA_SASL_PASSWORD: {{ . | b64enc | quote }}
{{- end }}
{{- with .Values.secrets.openaiApiKey }}
OPENAI_API_KEY: {{ . | b64enc | quote }}
{{- end }}
{{- with .Values.secrets.emailUrl }}
EMAIL_URL: {{ . | b64enc | quote }}
{{- end }}
{{- end -}}

{{/* Ingress hosts as a list (possibly empty). */}}
{{- define "todo-app.ingressHosts" -}}
{{- if .Values.ingress.enabled -}}
{{- toJson .Values.ingress.hosts -}}
{{- else -}}
[]
{{- end -}}
{{- end -}}

{{/* HTTPS settings that agree with the ingress: "true"/"false", the HSTS seconds, preload.
Automatic (null) follows ingress TLS; explicit values that contradict a plain-HTTP ingress fail. */}}
{{- define "todo-app.https" -}}
{{- $d := .Values.django -}}
{{- $tls := and .Values.ingress.enabled .Values.ingress.tls.enabled -}}
{{- $plainIngress := and .Values.ingress.enabled (not .Values.ingress.tls.enabled) -}}
{{- $redirect := $d.secureSslRedirect -}}
{{- if kindIs "invalid" $redirect }}{{ $redirect = $tls }}{{ end -}}
{{- $hsts := $d.hstsSeconds -}}
{{- if kindIs "invalid" $hsts }}{{ $hsts = ternary 31536000 0 $tls }}{{ end -}}
{{- if and $plainIngress $redirect -}}
{{- fail "todo-app: django.secureSslRedirect=true but the ingress serves plain HTTP (ingress.tls.enabled=false): every browser would be redirected to an https:// nobody serves. Enable ingress.tls or leave secureSslRedirect empty (automatic)." -}}
{{- end -}}
{{- if and $plainIngress (gt (int $hsts) 0) -}}
{{- fail "todo-app: django.hstsSeconds > 0 but the ingress serves plain HTTP (ingress.tls.enabled=false); browsers ignore HSTS over HTTP and would break once TLS appears. Enable ingress.tls or leave hstsSeconds empty (automatic)." -}}
{{- end -}}
{{- if and $d.hstsPreload (lt (int $hsts) 31536000) -}}
{{- fail "todo-app: django.hstsPreload needs HTTPS and django.hstsSeconds >= 31536000 (the preload list's minimum)." -}}
{{- end -}}
{{- toJson (dict "redirect" $redirect "hsts" (int $hsts) "preload" $d.hstsPreload) -}}
{{- end -}}

{{/* Data of the ConfigMap: settings that are not secret. */}}
{{- define "todo-app.configData" -}}
{{- $hosts := include "todo-app.ingressHosts" . | fromJsonArray -}}
{{- $https := include "todo-app.https" . | fromJson -}}
{{- $scheme := ternary "https" "http" (and .Values.ingress.enabled .Values.ingress.tls.enabled) -}}
{{- $origins := list -}}
{{- range $hosts }}{{ $origins = append $origins (printf "%s://%s" $scheme .) }}{{ end -}}
{{- $origins = concat $origins .Values.django.csrfTrustedOrigins | uniq -}}
DJANGO_DEBUG: {{ .Values.django.debug | toString | quote }}
ALLOW_SIGNUP: {{ .Values.django.allowSignup | toString | quote }}
LOG_LEVEL: {{ .Values.django.logLevel | quote }}
LOG_FORMAT: {{ .Values.django.logFormat | quote }}
TIME_ZONE: {{ .Values.django.timeZone | quote }}
SECURE_SSL_REDIRECT: {{ $https.redirect | toString | quote }}
SECURE_HSTS_SECONDS: {{ $https.hsts | int | toString | quote }}
SECURE_HSTS_PRELOAD: {{ $https.preload | toString | quote }}
{{- with $origins }}
CSRF_TRUSTED_ORIGINS: {{ join "," . | quote }}
{{- end }}
KAFKA_BOOTSTRAP_SERVERS: {{ include "todo-app.kafkaBootstrapServers" . | quote }}
KAFKA_SECURITY_PROTOCOL: {{ .Values.kafka.securityProtocol | quote }}
{{- with .Values.kafka.saslMechanism }}
KAFKA_SASL_MECHANISM: {{ . | quote }}
{{- end }}
KAFKA_TOPIC_PARTITIONS: {{ .Values.kafka.topicPartitions | int | toString | quote }}
KAFKA_TOPIC_REPLICATION_FACTOR: {{ .Values.kafka.topicReplicationFactor | int | toString | quote }}
{{- with .Values.openai.baseUrl }}
OPENAI_BASE_URL: {{ . | quote }}
{{- end }}
{{- with .Values.openai.model }}
OPENAI_MODEL: {{ . | quote }}
{{- end }}
{{- if .Values.worker.metrics.enabled }}
WORKER_METRICS_PORT: {{ .Values.worker.metrics.port | int | toString | quote }}
{{- /* Listen on the pod's address, not loopback, so Prometheus can scrape it. */}}
WORKER_METRICS_ADDR: "0.0.0.0"
{{- else }}
WORKER_METRICS_PORT: "0"
{{- end }}
CELERY_CONCURRENCY: {{ .Values.worker.concurrency | int | toString | quote }}
CELERY_WORKER_QUEUES: {{ join "," .Values.worker.queues | quote }}
{{- /* uvicorn: trust X-Forwarded-* only from these (the ingress controller; web.forwardedAllowIps). */}}
FORWARDED_ALLOW_IPS: {{ join "," .Values.web.forwardedAllowIps | quote }}
{{- /* The web pods' internal port (detailed health, /metrics), on the pod's address so Prometheus reaches it. */}}
INTERNAL_PORT: {{ .Values.web.internalPort | int | toString | quote }}
INTERNAL_ADDR: "0.0.0.0"
{{- range $name, $value := .Values.extraEnv }}
{{ $name }}: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{/* ALLOWED_HOSTS: configured hosts, ingress hosts, the web Service's names and the pod's own IP
($(POD_IP) is expanded by the kubelet), so probes and Prometheus scrapes by IP are accepted. */}}
{{- define "todo-app.allowedHosts" -}}
{{- $web := printf "%s-web" (include "todo-app.fullname" .) -}}
{{- $hosts := concat .Values.django.allowedHosts (include "todo-app.ingressHosts" . | fromJsonArray) -}}
{{- $hosts = concat $hosts (list $web (printf "%s.%s.svc" $web .Release.Namespace) (printf "%s.%s.svc.cluster.local" $web .Release.Namespace) "$(POD_IP)") -}}
{{- join "," ($hosts | uniq) -}}
{{- end -}}

{{/* Environment shared by every app container (web, worker, beat, migrate).
Call with (dict "ctx" $ "secretName" name); secretName defaults to the app Secret. */}}
{{- define "todo-app.env" -}}
{{- $secret := .secretName | default (include "todo-app.secretName" .ctx) -}}
- name: POD_IP
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
- name: ALLOWED_HOSTS
  value: {{ include "todo-app.allowedHosts" .ctx | quote }}
{{- range $key := list "DJANGO_SECRET_KEY" "DATABASE_URL" "REDIS_URL" }}
- name: {{ $key }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $key }}
{{- end }}
{{- range $key := list "KAFKA_SASL_USERNAME" "KAFKA_SASL_PASSWORD" "OPENAI_API_KEY" "EMAIL_URL" }}
- name: {{ $key }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $key }}
      optional: true
{{- end }}
{{- end -}}

{{/* Checksums that roll the pods when settings or secrets change. */}}
{{- define "todo-app.checksums" -}}
checksum/config: {{ include "todo-app.configData" . | sha256sum }}
{{- if not .Values.secrets.existingSecret }}
checksum/secret: {{ include "todo-app.secretData" . | sha256sum }}
{{- end }}
{{- end -}}

{{/* Pod-level pieces shared by the app Deployments and the migrate Job. */}}
{{- define "todo-app.podCommon" -}}
serviceAccountName: {{ include "todo-app.serviceAccountName" . }}
automountServiceAccountToken: {{ .Values.serviceAccount.automountToken }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- end -}}

{{- define "todo-app.volumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpVolume.sizeLimit }}
{{- with .Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "todo-app.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- with .Values.extraVolumeMounts }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Scheduling: the component's own settings win over the chart-wide ones. Call with (dict "ctx" $ "c" .Values.web). */}}
{{- define "todo-app.scheduling" -}}
{{- with (.c.nodeSelector | default .ctx.Values.nodeSelector) }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with (.c.tolerations | default .ctx.Values.tolerations) }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with (.c.affinity | default .ctx.Values.affinity) }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* PromQL label matchers for this release's scrape targets (jobs are named after the Services). */}}
{{- define "todo-app.promWeb" -}}
namespace="{{ .Release.Namespace }}", job="{{ include "todo-app.fullname" . }}-web"
{{- end -}}

{{- define "todo-app.promApp" -}}
namespace="{{ .Release.Namespace }}", job=~"{{ include "todo-app.fullname" . }}-(web|worker-metrics)"
{{- end -}}

{{/* NetworkPolicy peers ------------------------------------------------------------------
Call with (dict "ctx" $ "peer" .Values.networkPolicy.monitoring): pods of a namespace, by name. */}}
{{- define "todo-app.namespacePeer" -}}
- namespaceSelector:
    matchLabels:
      kubernetes.io/metadata.name: {{ .peer.namespace | quote }}
  {{- with .peer.podLabels }}
  podSelector:
    matchLabels:
      {{- toYaml . | nindent 6 }}
  {{- end }}
{{- end -}}

{{/* This release's pods that run the app image (web, worker, beat, the migrate Job). */}}
{{- define "todo-app.appPodsPeer" -}}
- podSelector:
    matchLabels:
      {{- include "todo-app.selectorLabels" (dict "ctx" .) | nindent 6 }}
    matchExpressions:
      - key: app.kubernetes.io/component
        operator: In
        values: [web, worker, beat, migrate]
{{- end -}}

{{/* An in-cluster service reachable on one port, only from the app's pods.
Call with (dict "ctx" $ "component" "redis" "port" "redis"). */}}
{{- define "todo-app.depNetworkPolicy" -}}
{{- if .ctx.Values.networkPolicy.enabled }}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "todo-app.fullname" .ctx }}-{{ .component }}
  labels:
    {{- include "todo-app.labels" (dict "ctx" .ctx "component" .component) | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "todo-app.selectorLabels" (dict "ctx" .ctx "component" .component) | nindent 6 }}
  policyTypes: [Ingress]
  ingress:
    - from:
        {{- include "todo-app.appPodsPeer" .ctx | nindent 8 }}
      ports:
        - port: {{ .port }}
          protocol: TCP
{{- end }}
{{- end -}}
