{{/* The chart name, or nameOverride. */}}
{{- define "kmm.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The full name of the release's objects: "<release>-kmm", or the release name alone when it
already holds the chart name. */}}
{{- define "kmm.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Names of cluster-scoped objects carry the namespace, so two releases of the same name in
different namespaces never collide. */}}
{{- define "kmm.clusterName" -}}
{{- printf "%s-%s" .Release.Namespace (include "kmm.fullname" .) }}
{{- end }}

{{- define "kmm.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Standard labels on every object. */}}
{{- define "kmm.labels" -}}
helm.sh/chart: {{ include "kmm.chart" . }}
{{ include "kmm.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: kubeai
{{- end }}

{{/* The labels that select kmm's pods. */}}
{{- define "kmm.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kmm.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: server
{{- end }}

{{- define "kmm.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "kmm.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "kmm.secretName" -}}
{{- default (printf "%s-secret-key" (include "kmm.fullname" .)) .Values.secretKey.existingSecret }}
{{- end }}

{{- define "kmm.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* Namespaces kmm offers to users (KMM_NAMESPACES): config.namespaces, else rbac.namespaces. */}}
{{- define "kmm.offeredNamespaces" -}}
{{- if .Values.config.namespaces }}
{{- join "," .Values.config.namespaces }}
{{- else }}
{{- join "," .Values.rbac.namespaces }}
{{- end }}
{{- end }}

{{/* Host names Django answers to (KMM_ALLOWED_HOSTS): the pod's IP (the kubelet's probes),
localhost (port-forward), the Service's in-cluster names, the ingress hosts and
config.allowedHosts. The kubelet expands $(POD_IP) from the variable defined before it. */}}
{{- define "kmm.allowedHosts" -}}
{{- $svc := include "kmm.fullname" . }}
{{- $ns := .Release.Namespace }}
{{- $hosts := list "$(POD_IP)" "[$(POD_IP)]" "localhost" "127.0.0.1" $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.cluster.local" $svc $ns) }}
{{- if .Values.ingress.enabled }}{{ $hosts = append $hosts .Values.ingress.host }}{{ end }}
{{- if .Values.publicIngress.enabled }}{{ $hosts = append $hosts .Values.publicIngress.host }}{{ end }}
{{- concat $hosts .Values.config.allowedHosts | uniq | join "," }}
{{- end }}

{{/* Origins trusted for CSRF (KMM_CSRF_TRUSTED_ORIGINS): https://<UI host>, config.csrfTrustedOrigins. */}}
{{- define "kmm.csrfTrustedOrigins" -}}
{{- $origins := list }}
{{- if .Values.ingress.enabled }}{{ $origins = append $origins (printf "https://%s" .Values.ingress.host) }}{{ end }}
{{- concat $origins .Values.config.csrfTrustedOrigins | uniq | join "," }}
{{- end }}

{{/* The rules on Models, namespaces and events. Writes only in auth mode "none": in token and
proxy mode every write is made with the user's own token or identity, never kmm's. */}}
{{- define "kmm.modelVerbs" -}}
{{- if eq .Values.auth.mode "none" }}[get, list, watch, create, update, patch, delete]{{ else }}[get, list, watch]{{ end }}
{{- end }}

{{/*
Proxies in front of kmm whose X-Forwarded-For names the client (KMM_NUM_PROXIES), for the
sign-in and public throttles: config.numProxies when set, else 1 with an ingress (the
ingress controller), else 0 (the connection's own address).
*/}}
{{- define "kmm.numProxies" -}}
{{- if ne .Values.config.numProxies nil -}}
{{- .Values.config.numProxies -}}
{{- else if or .Values.ingress.enabled .Values.publicIngress.enabled -}}
1
{{- else -}}
0
{{- end -}}
{{- end }}

{{/*
The proxy's trusted CIDRs; a range covering every address (0.0.0.0/0, ::/0) would let any
client name any user, so it needs auth.proxy.trustAnyAddress=true.
*/}}
{{- define "kmm.proxyTrustedCIDRs" -}}
{{- range .Values.auth.proxy.trustedCIDRs }}
{{- if and (hasSuffix "/0" .) (not $.Values.auth.proxy.trustAnyAddress) }}
{{- fail (printf "auth.proxy.trustedCIDRs: %s trusts every address, so any client could name any user; list the proxy's addresses, or set auth.proxy.trustAnyAddress=true if a NetworkPolicy already lets only the proxy in" .) }}
{{- end }}
{{- end }}
{{- join "," .Values.auth.proxy.trustedCIDRs }}
{{- end }}

{{/* The ConfigMap recording signed-out sessions for every replica (token mode). */}}
{{- define "kmm.revocationName" -}}
{{- printf "%s-revoked-sessions" (include "kmm.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end }}
