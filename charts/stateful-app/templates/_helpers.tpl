{{/*
The app name. Every object is named after the release, as the Pulumi raw component names
them after the app: a release installed over a deleted raw StatefulSet finds its PVCs. Never
truncated: _validate.tpl rejects a name that would not fit.
*/}}
{{- define "stateful-app.name" -}}
{{- .Release.Name -}}
{{- end -}}

{{- define "stateful-app.headlessServiceName" -}}
{{- printf "%s-headless" (include "stateful-app.name" .) -}}
{{- end -}}

{{/* Labels that select the app's pods. Never change them: the StatefulSet selector is immutable. */}}
{{- define "stateful-app.selectorLabels" -}}
app.kubernetes.io/name: {{ include "stateful-app.name" . }}
app.kubernetes.io/instance: {{ include "stateful-app.name" . }}
{{- end -}}

{{/* The pod template's labels: no helm.sh/chart, or every chart version bump would restart every pod. */}}
{{- define "stateful-app.podLabels" -}}
{{ include "stateful-app.selectorLabels" . }}
app.kubernetes.io/component: web
app.kubernetes.io/part-of: stateful-apps
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "stateful-app.labels" -}}
{{ include "stateful-app.podLabels" . }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "stateful-app.metadata" -}}
name: {{ include "stateful-app.name" . }}
namespace: {{ .Release.Namespace }}
labels:
  {{- include "stateful-app.labels" . | nindent 2 }}
{{- end -}}
